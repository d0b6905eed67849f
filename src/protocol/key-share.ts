import type { TLSSocket } from "node:tls";
import type { KeyShareKnowledge } from "../remote/remote-folder.js";

/**
 * The key-exchange group each server chose, offered first from then on. A TLS 1.3 client sends a
 * key share for its first group only (OpenSSL 3.0): Node offers X25519, and a server that wants
 * another (vsftpd 3.0.3: P-256 only) asks again with a HelloRetryRequest, one more round trip per
 * handshake. Data connections are handshakes too, one per file: at a 50 ms round trip that is
 * 50 ms a file. Learnt from a control connection's handshake, per server; kept in the server's
 * profile (migration 016) so that the next process's first login needs no retry either.
 */
const DEFAULT_GROUPS = ["X25519", "prime256v1", "secp384r1", "secp521r1"];
/** The one group vsftpd 3.0.x takes (it sets its ECDH curve to prime256v1). */
const VSFTPD_GROUP = "prime256v1";
/** Names as OpenSSL gives them (getEphemeralKeyInfo) and takes them (ecdhCurve). */
const GROUP_NAME = /^[A-Za-z0-9_-]{1,32}$/;

const chosen = new Map<string, string>();

/** The groups to offer to `server` ("host:port"), its own first once learnt; undefined: Node's default. */
export function groupsFor(server: string): string | undefined {
  const first = chosen.get(server);
  if (!first) return undefined;
  return [first, ...DEFAULT_GROUPS.filter((g) => g.toLowerCase() !== first.toLowerCase())].join(":");
}

/**
 * Remembers the group the server chose in `socket`'s handshake. Returns true when that changes
 * what is offered to it (the first time, or when the server's choice changed).
 */
export function learnGroup(server: string, socket: TLSSocket): boolean {
  const info = socket.getEphemeralKeyInfo() as { type?: string; name?: string } | null;
  const name = info?.type === "ECDH" ? info.name : undefined;
  if (!name || !GROUP_NAME.test(name) || chosen.get(server) === name) return false;
  // The default's first group needs no retry: nothing to change unless something else was learnt.
  if (!chosen.has(server) && name.toLowerCase() === DEFAULT_GROUPS[0].toLowerCase()) return false;
  chosen.set(server, name);
  return true;
}

/**
 * Before the first handshake with a server whose plain-text greeting (explicit TLS) names vsftpd,
 * while nothing is known of it: P-256 offered first, the group vsftpd 3.0.x takes, so that even
 * the first contact needs no HelloRetryRequest. Returns true when that changes what is offered.
 * The handshake then teaches the server's real choice as usual (learnGroup).
 */
export function guessGroupFromGreeting(server: string, greeting: string): boolean {
  if (chosen.has(server) || !/\bvsftpd\b/i.test(greeting)) return false;
  chosen.set(server, VSFTPD_GROUP);
  return true;
}

/** The group `server` ("host:port") chose, once learnt (for the profile: later processes offer it first). */
function chosenGroup(server: string): string | undefined {
  return chosen.get(server);
}

/** What an earlier process learnt (the server's profile): offered first from now on. */
function knownGroup(server: string, name: string): void {
  if (GROUP_NAME.test(name) && !chosen.has(server)) chosen.set(server, name);
}

/**
 * Logs in to `server` ("host:port") by `login`, offering first the group `knowledge` has from the
 * server's profile; then, when the handshake taught another one, keeps it in `knowledge` and hands
 * it to `knowledge.onLearnt` (to be saved in the profile). What a sync and `check` share.
 */
export async function withKnownGroup<T>(server: string, knowledge: KeyShareKnowledge, login: () => Promise<T>): Promise<T> {
  if (knowledge.known) knownGroup(server, knowledge.known);
  const result = await login();
  const chosen = chosenGroup(server);
  if (chosen && chosen !== knowledge.known) {
    knowledge.known = chosen;
    knowledge.onLearnt?.(chosen);
  }
  return result;
}

/** For tests: forget every server's group. */
export function forgetGroups(): void {
  chosen.clear();
}
