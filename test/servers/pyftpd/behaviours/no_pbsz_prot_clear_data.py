"""A server that refuses PBSZ and PROT and then moves data in the clear: a TLS control connection
with unprotected data connections. A client must never accept that data, nor send any.
"""


class Behaviour:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._extra_feats = ["AUTH TLS", "AUTH SSL"]
        # the data connections stay clear (pyftpdlib would otherwise refuse EPSV without PROT P)
        self.tls_data_required = False

    def ftp_PBSZ(self, line):
        self.respond("502 Command not implemented.")

    def ftp_PROT(self, line):
        self.respond("502 Command not implemented.")
