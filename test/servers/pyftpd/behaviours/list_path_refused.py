"""A LIST-only server that refuses LIST with a path (550), as some appliances and old servers do.

FEAT offers no MLSD or MLST (both are refused), and LIST, NLST and STAT list only the current
folder: a client must CWD to a folder and LIST it without a path. ls-style options alone ("-a")
are taken, as pyftpdlib takes them.
"""
from pyftpdlib.handlers import TLS_FTPHandler

LS_OPTIONS = ("-a", "-l", "-al", "-la")


class Behaviour:
    proto_cmds = {k: v for k, v in TLS_FTPHandler.proto_cmds.items() if k not in ("MLSD", "MLST")}

    def pre_process_command(self, line, cmd, arg):
        if cmd in ("LIST", "NLST", "STAT") and arg and arg.strip().lower() not in LS_OPTIONS:
            msg = "Listing a path is not supported: CWD to it first."
            self.respond("550 " + msg)
            self.log_cmd(cmd, arg, 550, msg)
            return
        return super().pre_process_command(line, cmd, arg)
