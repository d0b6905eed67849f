// Preloaded into the CLI under test (NODE_OPTIONS=--require): appends "host:port" for every
// outgoing TCP connection to the file named by FTPS_SYNC_TEST_CONNECT_LOG, so that a test can
// tell where the agent connected (control and data connections alike). Test-only.
"use strict";
const net = require("node:net");
const fs = require("node:fs");

const out = process.env.FTPS_SYNC_TEST_CONNECT_LOG;
if (out) {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    // net.connect() passes its arguments normalized, as one array [options, callback].
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const target = first && typeof first === "object" ? first : { port: first, host: typeof args[1] === "string" ? args[1] : undefined };
    if (target.path === undefined) fs.appendFileSync(out, `${target.host ?? "localhost"}:${target.port}\n`);
    return connect.apply(this, args);
  };
}
