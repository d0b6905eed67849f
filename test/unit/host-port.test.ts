import { describe, expect, it } from "vitest";
import { parseHostPort } from "../../src/cli/commands/fingerprint.js";
import { hostPort } from "../../src/protocol/host-port.js";

describe("writing host and port as they are read back", () => {
  it.each([
    ["ftp.example.com", 21, "ftp.example.com:21"],
    ["192.0.2.10", 990, "192.0.2.10:990"],
    ["::1", 990, "[::1]:990"],
    ["2001:db8::7", 2121, "[2001:db8::7]:2121"],
  ])("writes %s and %i as %s, which `fingerprint` reads back", (host, port, written) => {
    expect(hostPort(host, port)).toBe(written);
    expect(parseHostPort(written, false)).toEqual({ host, port });
  });
});
