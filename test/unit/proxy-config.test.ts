// The "proxy" key of a remote: read with its password (from env or file, never written in the
// config), and every setting that cannot work refused with exit 2, naming the field, never the secret.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { ownFilesIn, realLocalFolder } from "../../src/local/own-files.js";
import { ConfigError } from "../../src/errors.js";

const SECRET = "Proxy-SECRET-pa55-4411";
const ENV = { FTP_PASSWORD: "ftp-pass", PROXY_PASSWORD: SECRET, LONG_PASSWORD: "x".repeat(256) };

let dir: string;
let configFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ftps-sync-proxy-config-"));
  configFile = join(dir, "agent.config.json");
  mkdirSync(join(dir, "jobs"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function load(proxy: unknown, extra: Record<string, unknown> = {}) {
  const remote = { host: "ftp.example.com", tls: "explicit", user: "sync", password: { env: "FTP_PASSWORD" }, proxy, ...extra };
  writeFileSync(configFile, JSON.stringify({ remotes: { partner: remote } }));
  return loadConfig(configFile, { env: ENV });
}

function errorOf(proxy: unknown): string {
  try {
    load(proxy);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError, but loading succeeded");
}

describe("a remote's proxy", () => {
  it("refuses active mode with a proxy (the server could not connect back through it), exit 2", () => {
    let message = "";
    try {
      load({ type: "socks5", host: "proxy.corp", port: 1080 }, { dataConnections: "active" });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain('field "remotes.partner.dataConnections": cannot be "active" with "proxy"');
    expect(load({ type: "socks5", host: "proxy.corp", port: 1080 }, { dataConnections: "passive" }).config.remotes.partner.proxy?.type).toBe("socks5");
  });

  it("reads a SOCKS5 proxy with a user and its password from an environment variable", () => {
    const { config } = load({ type: "socks5", host: "proxy.corp", port: 1080, user: "relay", password: { env: "PROXY_PASSWORD" } });
    const proxy = config.remotes.partner.proxy!;
    expect({ type: proxy.type, host: proxy.host, port: proxy.port, user: proxy.user }).toEqual({ type: "socks5", host: "proxy.corp", port: 1080, user: "relay" });
    expect(proxy.password?.reveal()).toBe(SECRET);
    // the Secret never prints its value
    expect(JSON.stringify(config.remotes.partner)).not.toContain(SECRET);
  });

  it("reads an HTTP proxy without credentials", () => {
    const { config } = load({ type: "http", host: "10.0.0.8", port: 3128 });
    expect(config.remotes.partner.proxy).toEqual({ type: "http", host: "10.0.0.8", port: 3128 });
  });

  it("reads the password from a file, and keeps the file out of every job's folder", () => {
    const data = join(dir, "data");
    mkdirSync(data);
    writeFileSync(join(data, "proxy.pass"), SECRET + "\n", { mode: 0o600 });
    const { config } = load({ type: "http", host: "proxy.corp", port: 3128, user: "relay", password: { file: "data/proxy.pass" } });
    expect(config.remotes.partner.proxy?.password?.reveal()).toBe(SECRET);
    expect(config.remotes.partner.proxy?.passwordFile).toBe(join(dir, "data", "proxy.pass"));
    expect(ownFilesIn(config, realLocalFolder(data)).files).toContain("proxy.pass");
  });

  it.each([
    ["an unknown type", { type: "socks4", host: "p", port: 1 }, /field "remotes\.partner\.proxy\.type": must be one of "socks5", "http" \(got "socks4"\)/],
    ["no port", { type: "socks5", host: "p" }, /field "remotes\.partner\.proxy\.port"/],
    ["a port out of range", { type: "socks5", host: "p", port: 70000 }, /field "remotes\.partner\.proxy\.port"/],
    ["a URL for the host", { type: "http", host: "http://proxy.corp", port: 3128 }, /field "remotes\.partner\.proxy\.host": must be a host name or address, not a URL/],
    ["an unknown key", { type: "http", host: "p", port: 3128, pass: "x" }, /field "remotes\.partner\.proxy\.pass": unknown key/],
    ["a password written in the config", { type: "http", host: "p", port: 3128, user: "u", password: SECRET }, /field "remotes\.partner\.proxy\.password": a password must not be written in the config/],
    ["a password without a user", { type: "socks5", host: "p", port: 1080, password: { env: "PROXY_PASSWORD" } }, /field "remotes\.partner\.proxy\.password": is used only with "user"/],
    ["a password variable that is not set", { type: "socks5", host: "p", port: 1080, user: "u", password: { env: "UNSET_PROXY_VAR" } }, /field "remotes\.partner\.proxy\.password": environment variable UNSET_PROXY_VAR is not set/],
    ["a user with a colon at an HTTP proxy", { type: "http", host: "p", port: 3128, user: "dom:user", password: { env: "PROXY_PASSWORD" } }, /field "remotes\.partner\.proxy\.user": must not contain ":" for an HTTP proxy/],
    ["a SOCKS5 password longer than 255 bytes", { type: "socks5", host: "p", port: 1080, user: "u", password: { env: "LONG_PASSWORD" } }, /field "remotes\.partner\.proxy\.password": is longer than 255 bytes/],
  ])("refuses %s with exit 2, naming the field", (_what, proxy, message) => {
    const text = errorOf(proxy);
    expect(text).toMatch(message);
    expect(text).not.toContain(SECRET);
  });
});
