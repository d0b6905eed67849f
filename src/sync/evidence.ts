/**
 * Evidence for the "compare" action: are a local file and a remote file of the same size the same
 * bytes? A size and a time that match prove nothing (two edits within the server's time precision
 * look alike), so the answer comes from the contents: the server's hash where it offers one
 * (HASH, XSHA256, ...: protocol/server-hash.ts), otherwise the remote bytes, downloaded and
 * compared with the local file as they arrive (nothing is written, memory stays flat). Files over
 * COMPARE_MAX_BYTES on a server without a hash command are not compared: the caller treats them
 * as different, a conflict, which loses nothing. The local file is read through one descriptor,
 * opened as uploads open theirs (no symlink followed out of the job folder).
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, readSync, type Stats } from "node:fs";
import { Writable } from "node:stream";
import type { JobConfig } from "../config/types.js";
import { sameLocalVersion } from "../plan/signatures.js";
import type { LocalEntry, RemoteEntry } from "../plan/types.js";
import { JobFolder, readStreamOf, UnsafeLocalPath } from "../local/safe-open.js";
import { localPathInside, remoteJoin } from "../plan/names.js";
import { chooseHashMethod } from "../remote/hash-methods.js";
import type { RemoteFolder } from "../remote/remote-folder.js";
import { retrying } from "../remote/retrying-folder.js";
import { withRetry } from "../remote/retry.js";
import { SourceChanged, SourceVanished } from "./transfers.js";

/** Largest file compared by downloading it (one download costs less than the conflict it may spare). */
export const COMPARE_MAX_BYTES = 64 * 2 ** 20;

export interface ContentVerdict {
  same: boolean;
  /** How it was decided, for the log and the conflict's reason. */
  how: string;
}

export interface CompareInput {
  job: JobConfig;
  /** The server, where the remote file is. */
  server: RemoteFolder;
  path: string;
  local: LocalEntry;
  remote: RemoteEntry;
  signal?: AbortSignal;
}

/**
 * Opens the local file as uploads do (local/safe-open.ts): no symlink swapped in since the scan
 * is followed out of the job folder (nor any symlink without followSymlinks), and what was opened
 * must be what the scan saw. Every read of the compare goes through this one descriptor.
 */
function openLocal(job: JobConfig, rel: string, entry: LocalEntry, shown: string): number {
  const folder = new JobFolder(job.local, { followSymlinks: !!job.followSymlinks, followRootSymlink: !!job.followRootSymlink });
  let opened: { fd: number; stat: Stats };
  try {
    opened = folder.openFileForRead(rel);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new SourceVanished(`${shown} vanished after the scan; not compared`);
    throw err;
  }
  if (!opened.stat.isFile() || !sameLocalVersion(opened.stat, entry)) {
    closeSync(opened.fd);
    if (!opened.stat.isFile()) throw new UnsafeLocalPath(`${shown} is no longer a regular file; not compared`);
    throw new SourceChanged(`${shown} changed during the run; compared again next run`);
  }
  return opened.fd;
}

export async function compareContents(o: CompareInput): Promise<ContentVerdict> {
  const rel = o.local.diskPath ?? o.path;
  const localPath = localPathInside(o.job.local, rel);
  const remotePath = remoteJoin(o.job.remotePath, o.remote.serverPath ?? o.path);
  const fd = openLocal(o.job, rel, o.local, localPath);
  try {
    const unchanged = () => {
      if (!sameLocalVersion(fstatSync(fd), o.local)) throw new SourceChanged(`${localPath} changed during the run; compared again next run`);
    };
    if (o.local.size !== o.remote.size) return { same: false, how: "sizes differ" };
    const retry = <T>(fn: () => Promise<T>) => withRetry(fn, o.job.retries, { signal: o.signal });

    // HASH, else XSHA256/XSHA1/XMD5... (protocol/server-hash.ts)
    const method = chooseHashMethod(o.server.capabilities);
    if (method) {
      // A checksum only reads: the retrying folder retries it on transient failures.
      const theirs = await retrying(o.server, o.job.retries, { signal: o.signal }).hash(remotePath, method);
      if (theirs) {
        const localHex = await hashFd(fd, method.nodeName);
        unchanged();
        const same = theirs.hex === localHex;
        return { same, how: `${theirs.algorithm} (${theirs.command}) ${same ? "equal" : "differs"}` };
      }
    }
    if (o.local.size > COMPARE_MAX_BYTES) {
      return { same: false, how: `not compared (over ${COMPARE_MAX_BYTES / 2 ** 20} MiB, and the server offers no HASH nor XSHA256, XSHA1, XMD5)` };
    }
    const same = await retry(() => sameBytes(fd, o.local.size, (sink) => o.server.download(remotePath, sink)));
    unchanged();
    return { same, how: same ? "downloaded bytes equal" : "downloaded bytes differ" };
  } finally {
    closeSync(fd);
  }
}

/** The hash of an open file from its start (the descriptor stays open). */
async function hashFd(fd: number, algo: string): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of readStreamOf(fd, { start: 0, highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Thrown into the download to stop it at the first byte that differs. */
class Differs extends Error {}

/**
 * Streams the remote file into a sink that compares each chunk with the local file at the same
 * offset. It stops at the first difference (or a byte beyond `size`): the sink's failure fails
 * the download, whose connection, then mid-transfer, the remote folder drops.
 */
async function sameBytes(fd: number, size: number, download: (sink: Writable) => Promise<unknown>): Promise<boolean> {
  let offset = 0;
  let differs = false;
  const stop = (done: (err: Error) => void) => {
    differs = true;
    done(new Differs());
  };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (offset + chunk.length > size) return stop(done);
      const mine = Buffer.allocUnsafe(chunk.length);
      let got = 0;
      for (let n = 1; got < chunk.length && n > 0; got += n) n = readSync(fd, mine, got, chunk.length - got, offset + got);
      if (got !== chunk.length || !mine.equals(chunk)) return stop(done);
      offset += chunk.length;
      done();
    },
  });
  try {
    await download(sink);
    return offset === size;
  } catch (err) {
    if (differs) return false;
    throw err;
  }
}
