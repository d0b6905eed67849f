import { describeCapabilities, describeTimes } from "../../ftps/capabilities.js";
import { connectFtps } from "../../ftps/connect.js";
import { ConfigError, ExitCode } from "../../errors.js";
import { chooseHashMethod, describeHashMethod, type HashMethod } from "../../remote/server-hash.js";
import type { AppContext } from "../context.js";

/** Which hash command the agent will use with this server, and for what. */
function hashLine(hash: HashMethod | undefined): string {
  if (hash) return `${describeHashMethod(hash)}, for "verify": "hash" and two-way compares`;
  return 'none (no HASH, XSHA256, XSHA1 or XMD5): "verify": "hash" checks sizes only, two-way compares download the file';
}

/**
 * Connects to each remote, prints what was negotiated and found, and proves that a protected
 * data connection works with a listing of the remote's login folder.
 */
export async function checkCommand(app: AppContext, names: string[]): Promise<number> {
  const all = Object.keys(app.config.remotes);
  for (const n of names) {
    if (!app.config.remotes[n]) throw new ConfigError(`unknown remote "${n}"; configured remotes: ${all.join(", ") || "(none)"}`, { file: app.config.configPath });
  }
  const chosen = names.length ? names : all;
  if (chosen.length === 0) throw new ConfigError("no remotes configured", { file: app.config.configPath, field: "remotes" });
  let worst: number = ExitCode.Ok;
  for (const name of chosen) {
    const remote = app.config.remotes[name];
    const out: string[] = [`${name}: ${remote.host}:${remote.port} (${remote.tls} TLS)`];
    try {
      const c = await connectFtps(remote, app.logger);
      try {
        const listing = await c.client.list();
        const hash = chooseHashMethod(c.capabilities);
        out.push(
          `  TLS:          ${c.tls.protocol}, ${c.tls.cipher}`,
          `  certificate:  ${c.tls.subject}${c.tls.altNames ? ` (${c.tls.altNames})` : ""}, expires ${c.tls.validTo}`,
          `  issuer:       ${c.tls.issuer}`,
          `  fingerprint:  ${c.tls.fingerprint}`,
          `  trusted by:   ${remote.fingerprint ? "pinned fingerprint" : "certificate chain"}`,
          `  capabilities: ${describeCapabilities(c.capabilities)}`,
          `  hash:         ${hashLine(hash)}`,
          `  times:        ${describeTimes(c.capabilities, hash && describeHashMethod(hash))}`,
          `  data channel: protected (PROT P); listed ${listing.length} entries`,
          `  result:       ok`,
        );
        app.state().capabilities.save({
          remote: name, host: remote.host, port: remote.port, features: c.capabilities.features,
          tlsVersion: c.tls.protocol, cipher: c.tls.cipher, fingerprint: c.tls.fingerprint, probedAt: Date.now(),
        });
      } finally {
        c.close();
      }
    } catch (err) {
      const code = (err as { exitCode?: number }).exitCode ?? ExitCode.Connect;
      out.push(`  result:       FAILED: ${(err as Error).message}`);
      worst = Math.max(worst, code === ExitCode.Failures ? ExitCode.Connect : code);
    }
    process.stdout.write(out.join("\n") + "\n");
  }
  return worst;
}
