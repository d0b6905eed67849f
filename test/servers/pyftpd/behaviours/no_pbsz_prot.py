"""An FTPS server whose data channels are always protected, and that refuses PBSZ and PROT (as some
implicit-only servers and appliances do: "502 Command not implemented"). Its data connections are
TLS whatever the client asks.
"""


class Behaviour:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._extra_feats = ["AUTH TLS", "AUTH SSL"]
        self._pbsz = True
        self._prot = True

    def flush_account(self):
        super().flush_account()
        self._pbsz = True
        self._prot = True

    def ftp_PBSZ(self, line):
        self.respond("502 Command not implemented.")

    def ftp_PROT(self, line):
        self.respond("502 Command not implemented.")
