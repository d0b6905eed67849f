import type { RemoteConfig } from "../../config/types.js";
import type { Logger } from "../../log.js";
import type { FtpsConnection } from "../../protocol/connect.js";
import type { CapabilityStore, RememberedTechnique, ServerClockRecord } from "../../state/capabilities.js";
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

/** The server's key-exchange group as an entry of the remembered profile ("keyShare"), for `check`. */
export function keyShareEntry(known: { group: string; at: number } | undefined): RememberedTechnique[] {
  if (!known) return [];
  return [{ technique: "keyShare", reason: `${known.group} offered first in TLS handshakes (the server's choice: no HelloRetryRequest)`, at: known.at }];
}

/** A measured server clock as an entry of the remembered profile ("clock"), for `check`. */
export function clockEntry(clock: ServerClockRecord | undefined): RememberedTechnique[] {
  if (!clock) return [];
  const exact = clock.exactMs !== undefined && clock.exactMs !== clock.listingMs ? `, MDTM's ${offsetText(clock.exactMs)}` : "";
  return [{ technique: "clock", reason: `listing times ${offsetText(clock.listingMs)}${exact} (${clock.how}): taken off`, at: clock.at }];
}

/** "+5 h", "-3 h 30 min", "0 (UTC)": how far a server's times are from UTC. */
function offsetText(ms: number): string {
  if (ms === 0) return "in UTC";
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${ms > 0 ? "+" : "-"}${h > 0 ? `${h} h` : ""}${h > 0 && m > 0 ? " " : ""}${m > 0 ? `${m} min` : ""} from UTC`;
}

