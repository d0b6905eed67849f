"""A read-only account: every upload (STOR, APPE, STOU) is refused with 550, as with pyftpdlib's
own read-only permissions; everything else works.
"""


class Behaviour:
    def _refuse_upload(self, *args, **kwargs):
        self.respond("550 Not enough privileges.")

    ftp_STOR = _refuse_upload
    ftp_APPE = _refuse_upload
    ftp_STOU = _refuse_upload
