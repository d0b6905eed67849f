"""Implicit FTPS: TLS from the first byte (pyftpdlib only offers AUTH TLS).

The control connection is secured before the greeting, and counts as already negotiated: AUTH is
refused as on any implicit server. PBSZ/PROT are still needed for protected data channels.
"""


class Behaviour:
    def handle(self):
        self.secure_connection(self.ssl_context)
        super().handle()
