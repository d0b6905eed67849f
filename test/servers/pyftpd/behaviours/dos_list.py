"""A server that lists in DOS style, as IIS does, and offers no MLSD or MLST.

LIST (and STAT with a path) write IIS's fixed columns: `MM-dd-yy  hh:mmtt`, then `<DIR>` or the
size right-aligned, and the name 22 characters after the time, leading spaces and all. Times are
UTC unless the handler says otherwise (use_gmt_times). "LIST -a <path>" lists the path.
"""
import os
import stat
import time

from pyftpdlib.filesystems import AbstractedFS, FilesystemError
from pyftpdlib.handlers import TLS_FTPHandler


class DosFS(AbstractedFS):
    def format_list(self, basedir, listing, ignore_err=True):
        timefunc = time.gmtime if self.cmd_channel.use_gmt_times else time.localtime
        for basename in listing:
            try:
                st = self.lstat(os.path.join(basedir, basename))
            except (OSError, FilesystemError):
                if ignore_err:
                    continue
                raise
            stamp = time.strftime("%m-%d-%y  %I:%M%p", timefunc(st.st_mtime))
            field = "       <DIR>          " if stat.S_ISDIR(st.st_mode) else " %20d " % st.st_size
            line = "%s%s%s\r\n" % (stamp, field, basename)
            yield line.encode("utf8", self.cmd_channel.unicode_errors)


class Behaviour:
    abstracted_fs = DosFS
    proto_cmds = {k: v for k, v in TLS_FTPHandler.proto_cmds.items() if k not in ("MLSD", "MLST")}

    def pre_process_command(self, line, cmd, arg):
        # ls-style options before a path are dropped, so that the path is listed
        if cmd in ("LIST", "STAT") and arg[:3].lower() == "-a ":
            arg = arg[3:]
        return super().pre_process_command(line, cmd, arg)
