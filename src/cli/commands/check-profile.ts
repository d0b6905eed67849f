import type { RemoteConfig } from "../../config/types.js";
import type { Logger } from "../../log.js";
import type { FtpsConnection } from "../../protocol/connect.js";
import type { CapabilityStore, RememberedTechnique } from "../../state/capabilities.js";
import type { TechniquesOff } from "../../remote/remote-folder.js";
import { isoTime } from "../json-output.js";

/**
 * What `check`'s own connection knows of the server before it starts (the techniques it does not
 * take, as a sync would use them), for connectFtps.
 */
export function knownOff(store: CapabilityStore, name: string, remote: RemoteConfig): TechniquesOff {
  return store.techniquesOff(name, remote.host, remote.port);
}

/**
 * Lets `check`'s connection use what is known and remember what it finds out (EPSV refused, a
 * PASV address not used...), as a sync's pool does: logged and stored once.
 */
export function learnFromCheck(c: FtpsConnection, known: TechniquesOff, store: CapabilityStore, name: string, logger?: Logger): void {
  c.client.techniquesOff = known;
  c.client.onLearnt = (technique, reason) => {
    if (known[technique]) return;
    known[technique] = reason;
    logger?.warn(`${name}: ${reason} (remembered for this server)`);
    store.rememberTechniqueOff(name, c.remote.host, c.remote.port, technique, reason);
  };
}

/** The remembered part of the profile as `check` prints it: one line per entry, name, why, when. */
export function rememberedLines(remembered: RememberedTechnique[]): string[] {
  if (remembered.length === 0) return ["  remembered:   nothing (every technique tried so far works with this server)"];
  return remembered.map((r, i) => `  ${i === 0 ? "remembered:" : "           "}   ${r.technique}: ${r.reason} (learnt ${isoTime(r.at)})`);
}

/** The same for `check --json`. */
export function rememberedJson(remembered: RememberedTechnique[]): { technique: string; reason: string; learntAt: string }[] {
  return remembered.map((r) => ({ technique: r.technique, reason: r.reason, learntAt: isoTime(r.at)! }));
}
