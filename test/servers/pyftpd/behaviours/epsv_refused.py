"""A server that does not know EPSV (RFC 2428): old servers and appliances answer it 500.

Each refusal is logged ("EPSV refused"), so a test can count how often a client still asks.
"""


class Behaviour:
    def ftp_EPSV(self, line):
        self.log("EPSV refused")
        self.respond("500 Command \"EPSV\" not understood.")
