import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import winston from "winston";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { watchJob, type JobWatcher, type WatchOptions } from "../../src/agent/watcher.js";
import type { FolderChange } from "../../src/agent/folder-watch.js";
import { sleep, waitFor } from "../helpers/wait.js";
import type { JobConfig } from "../../src/config/types.js";

const work = mkdtempSync(join(tmpdir(), "ftps-sync-folder-watch-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
/**
 * The inotify watches this process holds on the files and folders under `root`, as the kernel
 * counts them (by inode: other test files may watch in other threads of this process).
 */
function inotifyWatches(root: string): number {
  const inodes = new Set<string>();
  const walk = (p: string) => {
    const st = statSync(p);
    inodes.add(st.ino.toString(16));
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(root);
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== "anon_inode:inotify") continue;
      for (const line of readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").split("\n")) {
        const ino = /^inotify wd:\d+ ino:([0-9a-f]+)/.exec(line)?.[1];
        if (ino && inodes.has(ino)) n++;
      }
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/** A tree of `folders` folders (the root among them) holding `files` files each. */
function tree(name: string, folders: number, files: number): string {
  const root = join(work, name);
  for (let d = 0; d < folders; d++) {
    const dir = d === 0 ? root : join(root, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < files; f++) writeFileSync(join(dir, `f${f}.txt`), "x");
  }
  return root;
}

function jobOn(local: string): JobConfig {
  return {
    name: "w", file: join(local, "..", "w.json"), remote: "srv", remotePath: "/w", local, direction: "upload",
    watch: true, watchDebounceMs: 50, delete: "never", onConflict: "keep-both", include: [], exclude: [],
    maxDelete: { kind: "percent", value: 50 }, verify: "size", followSymlinks: false, trustRemote: false,
    retries: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10 },
  };
}

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  return { lines, logger: winston.createLogger({ level: "debug", transports: [new winston.transports.Stream({ stream })] }) };
}

const open: JobWatcher[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

async function watched(local: string, opts: WatchOptions = {}) {
  const requests: string[] = [];
  const folders: FolderChange[][] = [];
  const log = capturingLogger();
  const w = watchJob(jobOn(local), (_job, trigger) => requests.push(trigger), log.logger, {
    rootCheckMs: 100,
    onFolders: (_job, changes) => folders.push(changes),
    ...opts,
  })!;
  open.push(w);
  // The old watcher had no `ready`: give it time for its initial scan.
  await (w.ready ?? sleep(1500));
  await sleep(100);
  return { w, requests, folders, log };
}

describe("the folder watch", () => {
  it("holds one inotify watch per folder, not one per file", async () => {
    const root = tree("counted", 4, 40);
    const { w } = await watched(root);
    expect(inotifyWatches(root)).toBe(4); // one per folder; a watch per file would be 164
    expect(w.watches).toBe(4);
    expect(w.state).toEqual({ mode: "watching", watches: 4 });
  });

  it("names the folders the events came from, and a new folder as new with all under it, then watches it", async () => {
    const root = tree("named", 3, 1);
    const { requests, folders } = await watched(root);
    writeFileSync(join(root, "d2", "new.txt"), "1");
    await waitFor("a run for d2/new.txt", () => requests.length >= 1, 8000, 25);
    expect(folders.flat()).toEqual([{ folder: "d2", deep: false }]);

    mkdirSync(join(root, "d1", "sub"));
    writeFileSync(join(root, "d1", "sub", "inner.txt"), "2");
    await waitFor("a run for the new folder, as new", () => folders.slice(1).flat().some((c) => c.folder === "d1/sub" && c.deep), 8000, 25);
    expect(folders.slice(1).flat()).toContainEqual({ folder: "d1", deep: false });

    await sleep(200);
    const settled = requests.length;
    writeFileSync(join(root, "d1", "sub", "later.txt"), "3");
    await waitFor("a run for a file in the new folder", () => requests.length > settled, 8000, 25);
    expect(folders.at(-1)).toEqual([{ folder: "d1/sub", deep: false }]);
  });

  it("lets go of the watches of a removed folder", async () => {
    const root = tree("removed", 3, 2);
    const { w } = await watched(root);
    expect(w.watches).toBe(3);
    rmSync(join(root, "d1"), { recursive: true });
    await waitFor("the removed folder's watch let go", () => w.watches === 2, 8000, 25);
  });

  it("falls back to polling at the watch limit, and says so naming fs.inotify.max_user_watches", async () => {
    const root = tree("limited", 5, 1);
    const { w, requests, log } = await watched(root, { maxWatches: 3, fallbackPollMs: 150 });
    expect(w.state).toMatchObject({ mode: "polling", pollMs: 150 });
    expect(w.state?.mode === "polling" && w.state.reason).toMatch(/fs\.inotify\.max_user_watches/);
    expect(log.lines.join("")).toMatch(/limit of inotify watches is reached.*every 0 s instead.*fs\.inotify\.max_user_watches/);
    expect(w.watches).toBe(0); // half a tree watched would miss changes without a word
    expect(inotifyWatches(root)).toBe(0);
    await waitFor("polled runs", () => requests.filter((t) => t === "watch-poll").length >= 3, 8000, 25);
  });

  it("sets up its watches after it returns, without holding up the caller", async () => {
    const root = tree("async", 60, 0);
    const w = watchJob(jobOn(root), () => undefined, capturingLogger().logger, {})!;
    open.push(w);
    const atReturn = w.watches;
    await w.ready;
    expect(atReturn).toBeLessThan(60);
    expect(w.watches).toBe(60);
  });
});
