import { describeCapabilities, describeTimes } from "../../remote/capabilities.js";
import type { RemoteConfig } from "../../config/types.js";
import { connectFtps, type FtpsConnection } from "../../protocol/connect.js";
import type { CapabilityStore } from "../../state/capabilities.js";
import type { ListEntry as FileInfo } from "../../protocol/listing-parse.js";
import { listChecked } from "../../protocol/list-tree.js";
import { ConfigError, ExitCode } from "../../errors.js";
import { chooseHashMethod, describeHashMethod, type HashMethod } from "../../protocol/server-hash.js";
import { hostPort } from "../../protocol/host-port.js";
import type { AppContext } from "../context.js";
import { failureOf, type Failure } from "../failure.js";
import { isoTime, writeJson } from "../json-output.js";
import { clockEntry, keyShareEntry, knownOff, learnFromCheck, rememberedJson, rememberedLines } from "./check-profile.js";
import { withKnownGroup } from "../../protocol/key-share.js";

/** Which hash command the agent will use with this server, and for what. */
function hashLine(hash: HashMethod | undefined): string {
  if (hash) return `${describeHashMethod(hash)}, for "verify": "hash" and two-way compares`;
  return 'none (no HASH, XSHA256, XSHA1 or XMD5): "verify": "hash" checks sizes only, two-way compares download the file';
}

/** A certificate date ("Dec  5 17:23:14 2027 GMT") as ISO 8601 UTC; the text as it is if it does not parse. */
function isoCertDate(text: string): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : isoTime(ms)!;
}

/**
 * Connects and lists the login folder, as a sync would (with what is known of the server). Once
 * more when the first attempt learnt something new and then failed: a server that refuses EPSV
 * may take the listing sent behind it and wait for a data connection, which costs that connection.
 */
async function connectAndList(app: AppContext, name: string, remote: RemoteConfig, profile: CapabilityStore): Promise<{ c: FtpsConnection; listing: FileInfo[] }> {
  for (let attempt = 1; ; attempt++) {
    const known = knownOff(profile, name, remote);
    const before = Object.keys(known).length;
    const keyShare = {
      known: profile.keyShareGroup(name, remote.host, remote.port)?.group,
      onLearnt: (group: string) => profile.rememberKeyShareGroup(name, remote.host, remote.port, group),
    };
    const c = await withKnownGroup(`${remote.host}:${remote.port}`, keyShare, () => connectFtps(remote, app.logger, undefined, known));
    try {
      learnFromCheck(c, known, profile, name, app.logger);
      return { c, listing: await listChecked(c, "") };
    } catch (err) {
      c.close();
      if (attempt > 1 || Object.keys(known).length === before) throw err;
    }
  }
}

/**
 * Connects to each remote, prints what was negotiated and found, and proves that a protected
 * data connection works with a listing of the remote's login folder. With `json`, one object
 * (schema ftps-sync/check/v1) with a result per remote; a failed remote carries its error.
 */
export async function checkCommand(app: AppContext, names: string[], opts: { json?: boolean } = {}): Promise<number> {
  const all = Object.keys(app.config.remotes);
  for (const n of names) {
    if (!app.config.remotes[n]) throw new ConfigError(`unknown remote "${n}"; configured remotes: ${all.join(", ") || "(none)"}`, { file: app.config.configPath });
  }
  const chosen = names.length ? names : all;
  if (chosen.length === 0) throw new ConfigError("no remotes configured", { file: app.config.configPath, field: "remotes" });
  let worst: number = ExitCode.Ok;
  let worstFailure: Failure | undefined;
  const results: Record<string, unknown>[] = [];
  for (const name of chosen) {
    const remote = app.config.remotes[name];
    const through = remote.proxy ? `, through the ${remote.proxy.type === "socks5" ? "SOCKS5" : "HTTP"} proxy ${hostPort(remote.proxy.host, remote.proxy.port)}` : "";
    const out: string[] = [`${name}: ${hostPort(remote.host, remote.port)} (${remote.tls} TLS${through})`];
    const result: Record<string, unknown> = { remote: name, host: remote.host, port: remote.port, tlsMode: remote.tls };
    try {
      const profile = app.state().capabilities;
      const { c, listing } = await connectAndList(app, name, remote, profile);
      try {
        // after the listing: what it found out is remembered too
        const remembered = [...profile.remembered(name, remote.host, remote.port), ...clockEntry(profile.clockOffset(name, remote.host, remote.port)), ...keyShareEntry(profile.keyShareGroup(name, remote.host, remote.port))];
        const hash = chooseHashMethod(c.capabilities);
        out.push(
          `  TLS:          ${c.tls.protocol}, ${c.tls.cipher}`,
          `  certificate:  ${c.tls.subject}${c.tls.altNames ? ` (${c.tls.altNames})` : ""}, expires ${c.tls.validTo}`,
          `  issuer:       ${c.tls.issuer}`,
          `  fingerprint:  ${c.tls.fingerprint}`,
          `  trusted by:   ${remote.fingerprint ? "pinned fingerprint" : "certificate chain"}`,
          `  capabilities: ${describeCapabilities(c.capabilities)}`,
          ...rememberedLines(remembered),
          `  hash:         ${hashLine(hash)}`,
          `  times:        ${describeTimes(c.capabilities, hash && describeHashMethod(hash))}`,
          `  data channel: protected (${c.learnt?.protP || remembered.some((r) => r.technique === "protP") ? "TLS seen on a data connection; the server refused PROT P" : "PROT P"}); listed ${listing.length} entries`,
          `  result:       ok`,
        );
        Object.assign(result, {
          ok: true,
          tls: { protocol: c.tls.protocol, cipher: c.tls.cipher },
          certificate: {
            subject: c.tls.subject, altNames: c.tls.altNames || null, issuer: c.tls.issuer,
            validTo: isoCertDate(c.tls.validTo), fingerprint: c.tls.fingerprint,
          },
          trustedBy: remote.fingerprint ? "pinned-fingerprint" : "certificate-chain",
          capabilities: describeCapabilities(c.capabilities),
          features: Object.keys(c.capabilities.features).sort(),
          remembered: rememberedJson(remembered),
          hash: hash ? describeHashMethod(hash) : null,
          times: describeTimes(c.capabilities, hash && describeHashMethod(hash)),
          listedEntries: listing.length,
        });
        profile.save({
          remote: name, host: remote.host, port: remote.port, features: c.capabilities.features,
          tlsVersion: c.tls.protocol, cipher: c.tls.cipher, fingerprint: c.tls.fingerprint, probedAt: Date.now(),
        });
      } finally {
        c.close();
      }
    } catch (err) {
      const code = (err as { exitCode?: number }).exitCode ?? ExitCode.Connect;
      out.push(`  result:       FAILED: ${(err as Error).message}`);
      // Whatever went wrong after the connection started, the remote could not be used: exit 4.
      const failure = { ...failureOf(err), exitCode: code === ExitCode.Failures ? ExitCode.Connect : code };
      if (failure.exitCode === ExitCode.Connect) failure.code = "connect";
      Object.assign(result, { ok: false, error: failure });
      if (failure.exitCode > worst) {
        worst = failure.exitCode;
        worstFailure = failure;
      }
    }
    results.push(result);
    if (!opts.json) process.stdout.write(out.join("\n") + "\n");
  }
  if (opts.json) {
    const failed = results.filter((r) => r.ok === false).length;
    const failure = worstFailure && { ...worstFailure, message: `${failed} of ${results.length} remote(s) failed the check; ${worstFailure.message}` };
    writeJson("check", { remotes: results }, failure);
  }
  return worst;
}
