// A seeded random sequence of edits, deletions and renames on both sides of a two-way job,
// between runs and during runs. After a final quiet run both sides must be equal, and every
// version ever written must still exist (as a file or a conflict copy) unless a user removed it
// on a side where it was present: the agent itself never loses a version.
import { chownSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServers, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { type Workspace } from "../helpers/workspace.js";
import { useServer } from "../helpers/server-fixture.js";
import { prng } from "../helpers/prng.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { lastJsonLine } from "../helpers/sync-json.js";

requireServers("vsftpd", "proftpd");

/** File names the operations pick from; the folders are never used as file names (no type clash). */
const NAMES = ["a.txt", "b.txt", "c.txt", "d/e.txt", "d/f.txt", "g/h.txt"];
const ROUNDS = 8;

/**
 * Every file under `root` (no temporary files), relative path -> content. Read while a run may be
 * renaming and deleting there: a name gone between the listing and its read is simply not there.
 */
function contents(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      try {
        if (statSync(abs).isDirectory()) walk(abs, r);
        else if (!name.startsWith(".ftps-sync.")) out.set(r, readFileSync(abs, "utf8"));
      } catch (err) {
        if (!gone(err)) throw err;
      }
    }
  };
  walk(root, "");
  return out;
}

describe.each(["proftpd", "vsftpd"] as ServerKind[])("two-way under random edits on both sides (%s)", (kind) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  useServer(kind, { maxConnections: 2 }, (f) => ({ server, owner, ws } = f));

  it.each([11])("seed %i: no version lost, both sides equal after a quiet run", async (seed) => {
    const random = prng(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
    const name = `rnd${seed}`;
    writeTree(server.root, { [`${name}/.keep`]: "" }, owner);
    unlinkSync(join(server.root, name, ".keep"));
    const sides = { local: ws.folder(`rnd-local-${seed}`), remote: join(server.root, name) };
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local: sides.local, direction: "two-way", delete: "tracked", onConflict: "keep-both", maxDelete: 1000, bandwidthLimit: "64KiB" });

    const written = new Set<string>();
    const removedByUser = new Set<string>();
    const log: string[] = [];
    let counter = 0;
    // Each version is unique and of a length no other has (counter < 64): a same-size edit within the
    // server's time precision is invisible to any client, and is not what this test is about.
    // Versions of 8 to 40 KiB, sent at 64 KiB/s: transfers last long enough for edits to land in them.
    const version = (side: string) => `${side}-${++counter}-${"x".repeat(8192 + Math.floor(random() * 512) * 64 + counter)}`;

    /** One user action on `side`; `target` forces a write of that name. Returns the name acted on. */
    const act = (side: "local" | "remote", target?: string): string | undefined => {
      const root = sides[side];
      const here = contents(root);
      const present = [...here.keys()].filter((p) => NAMES.includes(p));
      const op = target ? "write" : present.length === 0 ? "write" : pick(["write", "write", "delete", "rename"]);
      if (op === "write") {
        const p = target ?? pick(NAMES);
        const old = here.get(p);
        if (old !== undefined) removedByUser.add(old);
        const v = version(side);
        written.add(v);
        writeTree(root, { [p]: v }, side === "remote" ? owner : undefined);
        log.push(`${side}: write ${p}`);
        return p;
      } else if (op === "delete") {
        const p = pick(present);
        removedByUser.add(here.get(p)!);
        unlinkSync(join(root, p));
        log.push(`${side}: delete ${p}`);
        return p;
      } else {
        const from = pick(present);
        const free = NAMES.filter((n) => !here.has(n));
        if (free.length === 0) return undefined;
        const to = pick(free);
        const parent = dirname(join(root, to));
        mkdirSync(parent, { recursive: true });
        if (side === "remote") chownSync(parent, owner.uid, owner.gid);
        renameSync(join(root, from), join(root, to));
        log.push(`${side}: rename ${from} -> ${to}`);
        return from;
      }
    };
    const other = (side: "local" | "remote") => (side === "local" ? "remote" : "local");
    /** Resolves once a transfer is under way (a temporary file on either side), or after `ms`. */
    const transferStarted = async (ms: number) => {
      const hasTemp = (root: string) => {
        try {
          return readdirSync(root, { recursive: true }).some((f) => String(f).split("/").pop()!.startsWith(".ftps-sync."));
        } catch {
          return false;
        }
      };
      for (const end = Date.now() + ms; Date.now() < end && !hasTemp(sides.local) && !hasTemp(sides.remote); ) {
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    const sync = async () => {
      const r = await ws.cli(["sync", name, "--json"]);
      expect([0, 1], `${log.join("\n")}\n${r.stderr}`).toContain(r.code);
      return lastJsonLine(r.stdout, r.stderr);
    };

    for (let round = 0; round < ROUNDS; round++) {
      // Two actions between runs; during the run, the other side writes one of the names the run
      // is busy with (uploading, downloading or about to delete), as a partner working at the
      // same time would, plus one random action at a random moment.
      const touched: [side: "local" | "remote", name: string | undefined][] = [];
      for (let k = 0; k < 2; k++) {
        const side = random() < 0.5 ? "local" : "remote";
        touched.push([side, act(side)]);
      }
      const running = sync();
      await transferStarted(1500);
      const [side, busy] = pick(touched);
      if (busy) act(other(side), busy);
      await new Promise((res) => setTimeout(res, Math.floor(random() * 300)));
      act(random() < 0.5 ? "local" : "remote");
      const sum = await running;
      log.push(`-- run ${round}: ${JSON.stringify({ u: sum.uploaded, d: sum.downloaded, dl: sum.deletedLocal, dr: sum.deletedRemote, c: sum.conflicts, f: sum.failed, def: sum.deferred })}`);
    }

    // Quiet runs until one finds nothing to do (deferred changes are taken by the next run).
    let quiet = false;
    for (let i = 0; i < 4 && !quiet; i++) {
      const s = await sync();
      quiet = s.uploaded + s.downloaded + s.deletedLocal + s.deletedRemote + s.conflicts + s.failed === 0 && s.deferred === 0;
    }
    expect(quiet, log.join("\n")).toBe(true);
    // delete=tracked keeps a user's own file when the copy this job placed on the other side was
    // deleted there (a held-back deletion, reported at every run): such a path is on one side only,
    // the side the plan names. Every other path is the same on both sides.
    const planned = await ws.cli(["plan", name, "--json"]);
    const held = (lastJsonLine(planned.stdout, planned.stderr).plan ?? []).filter((a) => a.kind === "held-delete");
    const heldPaths = new Set(held.map((a) => a.path));
    const local = treeObject(sides.local);
    const remote = treeObject(sides.remote);
    for (const a of held) {
      // held on the side that keeps the file: there and not on the other
      const keeps = (a as { side?: string }).side === "local" ? [true, false] : [false, true];
      expect([a.path in local, a.path in remote], `${a.path}: ${a.reason}\n${log.join("\n")}`).toEqual(keeps);
    }
    const shared = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([p]) => !heldPaths.has(p)));
    expect(shared(local), log.join("\n")).toEqual(shared(remote));
    const survivors = new Set([...contents(sides.local).values(), ...contents(sides.remote).values()]);
    const lost = [...written].filter((v) => !removedByUser.has(v) && !survivors.has(v));
    expect(lost, log.join("\n")).toEqual([]);
  });
});
