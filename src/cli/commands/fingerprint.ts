import { UsageError } from "../usage.js";
import type { AppContext } from "../context.js";
import { fetchServerCertificate, type ReachOptions } from "../../protocol/fetch-fingerprint.js";
import { hostPort } from "../../protocol/host-port.js";

export function parseHostPort(input: string, implicit: boolean): { host: string; port: number } {
  const defaultPort = implicit ? 990 : 21;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(input);
  let host: string;
  let port: string | undefined;
  if (v6) [, host, port] = v6;
  else if ((input.match(/:/g) ?? []).length > 1) host = input; // bare IPv6 address
  else [host, port] = input.split(":");
  if (!host) throw new UsageError(`expected HOST[:PORT], got "${input}"`);
  const n = port === undefined ? defaultPort : Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`bad port in "${input}"`);
  return { host, port: n };
}

/** Prints the server certificate's fingerprint in the pinning form, like ssh-keyscan. */
export async function fingerprintCommand(target: string, opts: { implicit?: boolean; timeout?: string }): Promise<number> {
  const { host, port } = parseHostPort(target, !!opts.implicit);
  return printFingerprint(host, port, !!opts.implicit, timeoutOf(opts.timeout));
}

/**
 * The same for a configured remote, reached as the agent reaches it: its host, port and TLS mode,
 * through its proxy, with its client certificate. For a server only a proxy can reach, or one that
 * takes only clients with a certificate.
 */
export async function remoteFingerprintCommand(app: AppContext, name: string, opts: { implicit?: boolean; timeout?: string }): Promise<number> {
  const remote = app.config.remotes[name];
  if (!remote) {
    const known = Object.keys(app.config.remotes);
    throw new UsageError(`--remote: no remote "${name}" in ${app.config.configPath}${known.length ? ` (remotes: ${known.join(", ")})` : ""}`);
  }
  if (opts.implicit) throw new UsageError("--implicit is taken from the remote's \"tls\" with --remote: leave it out");
  const reach: ReachOptions = { proxy: remote.proxy, cert: remote.clientCert, key: remote.clientKey?.reveal() };
  return printFingerprint(remote.host, remote.port, remote.tls === "implicit", timeoutOf(opts.timeout), reach, remote.proxy ? `through the ${remote.proxy.type} proxy ${hostPort(remote.proxy.host, remote.proxy.port)}` : undefined);
}

function timeoutOf(text: string | undefined): number {
  const seconds = text === undefined ? 15 : Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout: expected a number of seconds above 0, got "${text}"`);
  return Math.round(seconds * 1000);
}

async function printFingerprint(host: string, port: number, implicit: boolean, timeoutMs: number, reach?: ReachOptions, via?: string): Promise<number> {
  const cert = await fetchServerCertificate(host, port, implicit, timeoutMs, undefined, reach);
  process.stderr.write(
    [
      `# ${hostPort(host, port)} (${implicit ? "implicit" : "explicit"} TLS, ${cert.protocol}${via ? `, ${via}` : ""})`,
      `# subject:  ${cert.subject}${cert.altNames ? ` (${cert.altNames})` : ""}`,
      `# issuer:   ${cert.issuer}`,
      `# valid:    ${cert.validFrom} to ${cert.validTo}`,
      `# trusted by the system store: ${cert.trustedBySystem ? "yes" : "no"}`,
      `# Check this value out of band (e.g. with the server's admin) before pinning it as "fingerprint":`,
    ].join("\n") + "\n",
  );
  process.stdout.write(cert.fingerprint + "\n");
  return 0;
}
