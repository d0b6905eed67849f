"""A server slow to answer REST (half a second; the whole server waits, replies stay in order).
A client that opens the data connection before it has sent the transfer command (RETR after
REST's reply, one command at a time) starts its TLS handshake while pyftpdlib has no transfer to
give that connection, and pyftpdlib resets it.
"""
import time


class Behaviour:
    def ftp_REST(self, line):
        time.sleep(0.5)
        super().ftp_REST(line)
