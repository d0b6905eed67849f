import { describeCapabilities } from "../../ftps/capabilities.js";
import { connectFtps } from "../../ftps/connect.js";
import { ConfigError, ExitCode } from "../../errors.js";
import type { AppContext } from "../context.js";

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
        out.push(
          `  TLS:          ${c.tls.protocol}, ${c.tls.cipher}`,
          `  certificate:  ${c.tls.subject}${c.tls.altNames ? ` (${c.tls.altNames})` : ""}, expires ${c.tls.validTo}`,
          `  issuer:       ${c.tls.issuer}`,
          `  fingerprint:  ${c.tls.fingerprint}`,
          `  trusted by:   ${remote.fingerprint ? "pinned fingerprint" : "certificate chain"}`,
          `  capabilities: ${describeCapabilities(c.capabilities)}`,
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
