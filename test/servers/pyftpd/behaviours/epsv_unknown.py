"""A server that does not know EPSV (older appliances): it answers 500, and, as vsftpd does, refuses
a transfer command for which no passive port was opened (pyftpdlib itself would answer 150 and wait
for a connection that never comes). The client falls back to PASV.
"""


class Behaviour:
    def ftp_EPSV(self, line):
        self.respond("500 Command \"EPSV\" not understood.")

    def process_command(self, cmd, *args, **kwargs):
        if cmd in ("STOR", "APPE", "RETR", "LIST", "NLST", "MLSD") and self._dtp_acceptor is None and self.data_channel is None:
            self.respond("425 Use PORT or PASV first.")
            return
        super().process_command(cmd, *args, **kwargs)
