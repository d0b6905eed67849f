"""A real pyftpdlib FTPS server for the integration tests (Debian's python3-pyftpdlib 1.5.7).

Started by test/servers/pyftpd.ts, on loopback only. Behaviours that other servers show are
opt-in, one module each in ./behaviours/: a module defines `Behaviour`, a mixin class put in
front of the TLS handler (its methods override pyftpdlib's, e.g. ftp_EPSV or format_list).

Prints "READY <port>" on stdout once it listens.
"""
import argparse
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyftpdlib.authorizers import DummyAuthorizer  # noqa: E402
from pyftpdlib.handlers import TLS_FTPHandler, FTPHandler  # noqa: E402
from pyftpdlib.servers import FTPServer  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--tls", choices=["explicit", "implicit", "off"], default="explicit")
    p.add_argument("--passive", default="", help="lo-hi")
    p.add_argument("--masquerade", default="", help="address to advertise in PASV replies")
    p.add_argument("--behaviour", action="append", default=[])
    a = p.parse_args()

    with open(a.password_file, encoding="utf-8") as f:
        password = f.read().rstrip("\n")
    auth = DummyAuthorizer()
    auth.add_user(a.user, password, a.root, perm="elradfmwMT")

    mixins = [importlib.import_module("behaviours." + name.replace("-", "_")).Behaviour for name in a.behaviour]
    if a.tls == "off":
        base = FTPHandler
    else:
        base = TLS_FTPHandler
        if a.tls == "implicit":
            mixins.append(importlib.import_module("behaviours.implicit_tls").Behaviour)
    handler = type("Handler", tuple(mixins) + (base,), {})
    handler.authorizer = auth
    handler.banner = "pyftpdlib test server ready"
    if a.tls != "off":
        handler.certfile = a.cert
        handler.keyfile = a.key
        handler.tls_control_required = True
        handler.tls_data_required = True
    if a.passive:
        lo, hi = a.passive.split("-")
        handler.passive_ports = range(int(lo), int(hi) + 1)
    if a.masquerade:
        handler.masquerade_address = a.masquerade

    server = FTPServer((a.host, a.port), handler)
    print("READY %d" % a.port, flush=True)
    server.serve_forever(handle_exit=True)


if __name__ == "__main__":
    main()
