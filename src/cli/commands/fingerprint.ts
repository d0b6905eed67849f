import { UsageError } from "../usage.js";
import { fetchServerCertificate } from "../../protocol/fetch-fingerprint.js";
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
  const seconds = opts.timeout === undefined ? 15 : Number(opts.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout: expected a number of seconds above 0, got "${opts.timeout}"`);
  const cert = await fetchServerCertificate(host, port, !!opts.implicit, Math.round(seconds * 1000));
  process.stderr.write(
    [
      `# ${hostPort(host, port)} (${opts.implicit ? "implicit" : "explicit"} TLS, ${cert.protocol})`,
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
