"""A server that does not know EPRT (RFC 2428) but takes PORT: old servers and appliances.

Each refusal is logged ("EPRT refused"), so a test can count how often a client still asks.
"""


class Behaviour:
    def ftp_EPRT(self, line):
        self.log("EPRT refused")
        self.respond("500 Command \"EPRT\" not understood.")
