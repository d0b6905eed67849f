"""A LIST-only server: FEAT offers no MLST and MLSD/MLST are unknown commands."""

from pyftpdlib.handlers import TLS_FTPHandler


class Behaviour:
    proto_cmds = {k: v for k, v in TLS_FTPHandler.proto_cmds.items() if k not in ("MLSD", "MLST")}
