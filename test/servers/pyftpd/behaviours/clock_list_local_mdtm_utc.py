"""A LIST-only server in local time whose MDTM answers in UTC (RFC 3659), as many do.

FEAT offers no MLSD or MLST; LIST shows local time (its zone from TZ in its environment), to the
minute; MDTM gives the exact time in UTC.
"""
from pyftpdlib.handlers import TLS_FTPHandler


class Behaviour:
    use_gmt_times = False
    proto_cmds = {k: v for k, v in TLS_FTPHandler.proto_cmds.items() if k not in ("MLSD", "MLST")}

    def ftp_MDTM(self, path):
        self.use_gmt_times = True
        try:
            return super().ftp_MDTM(path)
        finally:
            self.use_gmt_times = False
