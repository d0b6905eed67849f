// Shared pieces of the fault suite: a real server behind the fault proxy, a workspace pointing
// at the proxy, a seeded PRNG, file versions to tell a whole file from a half one, and checks.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLI as BUILT_CLI } from "../helpers/cli.js";

/** The long runner builds a private copy (other engineers rebuild dist/ while it runs). */
const CLI = process.env.FTPS_SYNC_FAULTS_CLI ?? BUILT_CLI;
import { makeWorkspace, PASSWORD_ENV, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { FaultProxy } from "./proxy.js";
import type { SyncJson } from "../helpers/sync-json.js";

export { prng } from "../helpers/prng.js";

export const int = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

export type SyncSummary = SyncJson;

export interface SyncResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  summary?: SyncSummary;
  stdout: string;
  stderr: string;
  ms: number;
  pid?: number;
}

export interface Rig {
  server: RunningServer;
  proxy: FaultProxy;
  ws: Workspace;
  owner: { uid: number; gid: number };
  /** a fresh remote folder (owned by the FTP user) and a local folder, with a job file */
  job(name: string, job: Record<string, unknown>): { name: string; local: string; remoteDir: string };
  sync(job: string, opts?: KillOptions & { timeoutMs?: number; args?: string[] }): Promise<SyncResult>;
  stop(): Promise<void>;
}

export interface RigOptions {
  kind?: ServerKind;
  timeoutSeconds?: number;
  maxConnections?: number;
  extraConfig?: string[];
}

/** A real server on 127.0.0.2 behind a FaultProxy on 127.0.0.1, and a workspace using the proxy. */
export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  const owner = await ensureTestUser();
  const server = await startServer(opts.kind ?? "vsftpd", {
    tls: "explicit",
    listenAddress: "127.0.0.2",
    pasvAddress: "127.0.0.1",
    extraConfig: opts.extraConfig,
  });
  let proxy: FaultProxy;
  try {
    proxy = await new FaultProxy(server).start();
  } catch (e) {
    await server.stop();
    throw e;
  }
  const ws = makeWorkspace(
    { host: "127.0.0.1", port: proxy.port, user: server.user, password: server.password },
    { fingerprint: server.fingerprint, maxConnections: opts.maxConnections ?? 3, timeoutSeconds: opts.timeoutSeconds ?? 3 },
  );
  return {
    server,
    proxy,
    ws,
    owner,
    job(name, job) {
      const remoteDir = join(server.root, name);
      mkdirSync(remoteDir, { recursive: true });
      chownSync(remoteDir, owner.uid, owner.gid);
      const local = ws.folder(`local-${name}`);
      ws.writeJob(name, {
        remote: "srv",
        remotePath: `/${name}`,
        local,
        retries: { attempts: 4, initialDelay: "100ms", maxDelay: "500ms" },
        ...job,
      });
      return { name, local, remoteDir };
    },
    sync: (job, o = {}) => runSync(ws, job, o),
    async stop() {
      ws.cleanup();
      await proxy.stop();
      await server.stop();
    },
  };
}

export interface KillOptions {
  /** SIGKILL the run this long after it starts, or after `killWhen` first holds. */
  killAfterMs?: number;
  /** Start the `killAfterMs` countdown only once this holds (polled every 20 ms): a moment of the run, not of the clock. */
  killWhen?: () => boolean;
}

/** Runs `sync <job> --json` as a subprocess; optionally SIGKILLs it (see KillOptions). */
export function runSync(ws: Workspace, job: string, o: KillOptions & { timeoutMs?: number; args?: string[] } = {}): Promise<SyncResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "sync", job, "--json", ...(o.args ?? [])], {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const hard = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 180_000);
    let kill: NodeJS.Timeout | undefined;
    const armKill = () => (kill = setTimeout(() => child.kill("SIGKILL"), o.killAfterMs));
    if (o.killAfterMs !== undefined && !o.killWhen) armKill();
    const watch =
      o.killAfterMs !== undefined && o.killWhen
        ? setInterval(() => {
            if (!o.killWhen!()) return;
            clearInterval(watch);
            armKill();
          }, 20)
        : undefined;
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(hard);
      clearInterval(watch);
      if (kill) clearTimeout(kill);
      let summary: SyncSummary | undefined;
      try {
        summary = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as SyncSummary;
      } catch {
        summary = undefined;
      }
      resolve({ code, signal, summary, stdout, stderr, ms: Date.now() - started, pid: child.pid });
    });
  });
}

// ------------------------------------------------------------------ trees and versions

export const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

export const isTempPath = (rel: string) => rel.split("/").some((s) => /^\.ftps-sync\..*\.part$/.test(s));

/** Every file under root: rel -> sha256 (temporary files included, marked by isTempPath). */
export function hashTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const abs = join(dir, n);
      const r = rel ? `${rel}/${n}` : n;
      let st;
      try {
        st = statSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(abs, r);
      else if (st.isFile()) out.set(r, sha(readFileSync(abs)));
    }
  };
  walk(root, "");
  return out;
}

/** Every version ever written of every path (by content hash). */
export class Versions {
  readonly byPath = new Map<string, Set<string>>();
  add(rel: string, content: Buffer | string): void {
    let s = this.byPath.get(rel);
    if (!s) this.byPath.set(rel, (s = new Set()));
    s.add(sha(content));
  }
  addHash(rel: string, hash: string): void {
    let s = this.byPath.get(rel);
    if (!s) this.byPath.set(rel, (s = new Set()));
    s.add(hash);
  }
  /** Files under a final name whose bytes are no version of their source: half (or foreign) files. */
  halfFiles(root: string): string[] {
    const bad: string[] = [];
    for (const [rel, h] of hashTree(root)) {
      if (isTempPath(rel)) continue;
      if (!this.byPath.get(rel)?.has(h)) bad.push(rel);
    }
    return bad;
  }
}

/** Writes a file (creating folders), chowned when owner is given, with a distinct mtime. */
export function put(root: string, rel: string, content: Buffer | string, owner?: { uid: number; gid: number }, mtimeMs?: number): void {
  const abs = join(root, rel);
  const parts = rel.split("/");
  let d = root;
  for (const p of parts.slice(0, -1)) {
    d = join(d, p);
    if (!existsSync(d)) {
      mkdirSync(d);
      if (owner) chownSync(d, owner.uid, owner.gid);
    }
  }
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  if (owner) chownSync(abs, owner.uid, owner.gid);
  if (mtimeMs !== undefined) utimesSync(abs, new Date(mtimeMs), new Date(mtimeMs));
}

/** Pseudo-random bytes from the PRNG (fast: 4 bytes per call). */
export function randomBytesFrom(rnd: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) b.writeUInt32LE(Math.floor(rnd() * 4294967296), i);
  for (; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

/** Compares two trees (temporary files ignored): missing, extra and differing paths. */
export function compareTrees(expected: Map<string, string>, actual: Map<string, string>): { missing: string[]; extra: string[]; differ: string[] } {
  const missing: string[] = [];
  const differ: string[] = [];
  const extra: string[] = [];
  for (const [rel, h] of expected) {
    if (isTempPath(rel)) continue;
    const got = actual.get(rel);
    if (got === undefined) missing.push(rel);
    else if (got !== h) differ.push(rel);
  }
  for (const rel of actual.keys()) if (!isTempPath(rel) && !expected.has(rel)) extra.push(rel);
  return { missing, extra, differ };
}

export function tempFiles(root: string): string[] {
  return [...hashTree(root).keys()].filter(isTempPath);
}

export function rmrf(p: string): void {
  rmSync(p, { recursive: true, force: true });
}

export { PASSWORD_ENV };
