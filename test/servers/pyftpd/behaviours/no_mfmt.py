"""A server without MFMT: FEAT does not offer it and the command is unknown (file times cannot be set)."""

from pyftpdlib.handlers import TLS_FTPHandler


class Behaviour:
    proto_cmds = {k: v for k, v in TLS_FTPHandler.proto_cmds.items() if k != "MFMT"}
