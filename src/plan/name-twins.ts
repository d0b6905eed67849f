import type { LocalEntry, RemoteListing, StateEntry } from "./types.js";

/**
 * The diff's inputs without the paths that two spellings share on either side (names that
 * differ only in Unicode normalisation), nor anything below them. Those paths are left alone:
 * nothing is synced or deleted there while both names exist (a path missing from one side only
 * would otherwise read as a deletion). The inputs themselves are not changed; without twins they
 * are returned as they are.
 */
export function withoutTwins(
  twins: string[],
  local: Map<string, LocalEntry>,
  remote: RemoteListing,
  state: Map<string, StateEntry>,
): { local: Map<string, LocalEntry>; remote: RemoteListing; state: Map<string, StateEntry> } {
  if (twins.length === 0) return { local, remote, state };
  const held = new Set(twins);
  const isHeld = (path: string) => {
    for (let i = path.length; i > 0; i = path.lastIndexOf("/", i - 1)) if (held.has(path.slice(0, i))) return true;
    return false;
  };
  const keep = <T>(m: Map<string, T>) => new Map([...m].filter(([path]) => !isHeld(path)));
  return { local: keep(local), remote: { ...remote, entries: keep(remote.entries) }, state: keep(state) };
}
