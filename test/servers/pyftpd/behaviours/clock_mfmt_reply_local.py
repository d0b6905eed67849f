"""A server whose MLSD, LIST and MDTM keep to UTC (RFC 3659), but whose MFMT reply shows the time
set in local time (its zone from TZ in its environment), as some servers word their replies.
"""
import calendar
import time

PREFIX = "213 Modify="


class Behaviour:
    def respond(self, resp, *args, **kwargs):
        if resp.startswith(PREFIX):
            utc = calendar.timegm(time.strptime(resp[len(PREFIX):len(PREFIX) + 14], "%Y%m%d%H%M%S"))
            resp = PREFIX + time.strftime("%Y%m%d%H%M%S", time.localtime(utc)) + resp[len(PREFIX) + 14:]
        return super().respond(resp, *args, **kwargs)
