import type { Transform } from "node:stream";
import { createHash } from "node:crypto";
import { closeSync, constants, createReadStream, existsSync, fstatSync, lstatSync, lutimesSync, openSync, rmdirSync, statSync, unlinkSync, type Stats } from "node:fs";
import { downloadTimeOf } from "./download-times.js";
import { basename, dirname, join, relative, sep } from "node:path";
import type { JobConfig } from "../config/types.js";
import { isTimeout, RemoteError } from "../errors.js";
import type { Logger } from "../log.js";
import { recordedLocalVersion, sameLocalVersion } from "../plan/signatures.js";
import type { LocalEntry, RemoteEntry, StateEntry } from "../plan/types.js";
import { fsyncFile, publish, unlinkQuiet } from "../local/safe-write.js";
import { JobFolder, readStreamOf, UnsafeLocalPath, type LocalDir } from "../local/safe-open.js";
import { tempNameFor } from "../local/temp-names.js";
import { baseName, localPathInside, parentOf, remoteJoin } from "../plan/names.js";
import { chooseHashMethod } from "../remote/hash-methods.js";
import { isNotThere, type Placed, type RemoteFileNow, type RemoteFolder, type RemoteStamp } from "../remote/remote-folder.js";
import { withRetry } from "../remote/retry.js";
import { retrying } from "../remote/retrying-folder.js";
import { sameRemoteVersion } from "../remote/same-version.js";
import type { StateStore } from "../state/index.js";
import { downloadFile, downloadRange, DownloadTooLong, type ByteRange } from "./receive-file.js";
import { meterStream, type Bandwidth } from "./throttle.js";
import { RunVersions } from "./versions.js";

/** How a retried call is named in the log, as the commands it stands for. */
const RETRIED_VERB: Record<string, string> = { exactTime: "MDTM", stamp: "check" };

/** A source file changed while it was being sent: not an error, it is taken again next run. */
export class SourceChanged extends Error {}

/**
 * The server's file is no longer what the plan saw (a partner wrote or edited it during the run):
 * it is neither overwritten nor deleted, and the next run sees the change and decides again.
 */
export class RemoteChanged extends SourceChanged {}

/** A source file deleted after the scan saw it: nothing to send, and not an error either. */
export class SourceVanished extends SourceChanged {}

/** Opens a file to upload (see safe-open.ts), with a file that is no longer there reported as SourceVanished. */
function openSource(folder: JobFolder, rel: string, shown: string): { fd: number; stat: Stats } {
  try {
    return folder.openFileForRead(rel);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new SourceVanished(`${shown} vanished after the scan; skipped`);
    throw err;
  }
}

export interface TransferContext {
  job: JobConfig;
  state: StateStore;
  remote: RemoteFolder;
  logger: Logger;
  bandwidth?: Bandwidth;
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
  /**
   * Bytes of a file in flight so far (the file's `rel`), as they pass; undefined once its transfer
   * ends. Only where asked: it puts a stream in each transfer's way (progress on a terminal).
   */
  onMoving?: (rel: string, bytesSoFar: number | undefined) => void;
  /** When the run started (epoch ms): the name of its versions folder (backup). Default: now. */
  startedMs?: number;
}

/** Files at least this big are downloaded in ranges over several connections at once. */
const SEGMENT_MIN_BYTES = 64 * 2 ** 20;
const MAX_SEGMENTS = 4;

/** An empty file and `count` equal ranges covering `size` bytes. */
function startSegments(temp: string, size: number, count: number): ByteRange[] {
  closeSync(openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o666));
  const step = Math.ceil(size / count);
  const ranges: ByteRange[] = [];
  for (let start = 0; start < size; start += step) ranges.push({ pos: start, end: Math.min(size, start + step), flushed: start });
  return ranges;
}

/**
 * A download in one piece: the server's stamp right after the last byte (where it gave one at no
 * round trip), and whether the sink flushed the whole file to disk before closing it.
 */
interface WholeDownload {
  stampAfter?: RemoteStamp;
  synced?: boolean;
}

/**
 * The size of the file at `path` (a symlink's own), or undefined when there is none. In line: a
 * stat of a name in the page cache takes microseconds, a promise through the thread pool several times more.
 */
function sizeNow(path: string): number | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.size;
  } catch {
    return undefined;
  }
}

/** An upload's temporary file on the server: its name now, and how to move to a fresh one. */
interface UploadTemp {
  path: string;
  /** The file it is for (the job's relative path): progress counts its bytes under this name. */
  readonly rel: string;
  /** It is an interrupted upload's, taken up again. */
  readonly resumed: boolean;
  readonly fresh: () => string;
  /** Records a name in the partials table (the row that lets a later run resume or remove it). */
  readonly record: (tempPath: string) => void;
}

/** What the attempts of one upload learn from each other. */
interface UploadAttempts {
  firstTry: boolean;
  lastTimedOut: boolean;
  /** Where the last attempt resumed (APPE), when it did. */
  appendedFrom?: number;
  /** Where the server refused to resume, when it did. */
  refusedAt?: number;
}

/** How an uploaded file got its time: set by us (MFMT), or the server's own as listed after the rename. */
interface PlacedUpload {
  mtimeSet: boolean;
  listed: RemoteFileNow | undefined;
}

/** Both sides' signatures of a file just uploaded. */
function uploadedSignature(before: Stats, placed: PlacedUpload): Pick<StateEntry, "localSize" | "localMtimeMs" | "remoteSize" | "remoteModifyMs" | "remotePrecision"> {
  return {
    localSize: before.size,
    localMtimeMs: Math.floor(before.mtimeMs),
    remoteSize: before.size,
    // The time as the server lists it when it was read back (a server whose MFMT reply shows another zone).
    ...(placed.mtimeSet && !placed.listed
      ? { remoteModifyMs: Math.floor(before.mtimeMs / 1000) * 1000, remotePrecision: "second" as const }
      : placed.listed
        ? { remoteModifyMs: placed.listed.modifyMs, remotePrecision: placed.listed.precision }
        : { remoteModifyMs: undefined, remotePrecision: "pending" as const }),
  };
}

/**
 * The remote time a download records: a time the listing gave by day only is recorded as the
 * exact one (MDTM), so that the next run can tell a rewrite on the same day (see sync/day-times.ts).
 */
/** Up to this size a download asks the file's exact time with the transfer (see timeWithTransfer). */
const TIME_WITH_TRANSFER_MAX_BYTES = 1024 * 1024;

function recordedRemoteTime(remote: RemoteEntry, exactBefore: number | undefined): Pick<RemoteEntry, "modifyMs" | "precision"> {
  return remote.precision === "day" && exactBefore !== undefined
    ? { modifyMs: exactBefore, precision: exactBefore % 1000 === 0 ? ("second" as const) : ("ms" as const) }
    : { modifyMs: remote.modifyMs, precision: remote.precision };
}

/** A path, or a descriptor already opened (read from its start, left open). */
async function hashLocal(file: string | number, algo: string): Promise<string> {
  const h = createHash(algo);
  const stream = typeof file === "number" ? readStreamOf(file, { start: 0, highWaterMark: 1 << 20 }) : createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest("hex");
}

/**
 * Carries out one action of a plan against disk and server. Every transfer goes to a temporary
 * name, is checked, and only then renamed into place; the state row is written right after, so a
 * crash loses at most the transfer in flight and the `partials` table lets the next run resume or
 * clean it up.
 */
export class Transfers {
  /** Remote folders known to exist in this run (relative paths). */
  private readonly remoteDirs = new Set<string>([""]);
  /** The server refuses to resume uploads (APPE): learnt in an earlier run, or in this one. */
  private noUploadResume?: boolean;

  private folderOnce?: JobFolder;
  private versionsOnce?: RunVersions;

  /**
   * The same server with its idempotent calls (mkdir, MDTM, the size-and-time check) retried on
   * transient failures (remote/retrying-folder.ts). Uploads, downloads, renames and deletes are
   * sequences this class retries itself: it knows how to resume them.
   */
  private readonly retried: RemoteFolder;

  constructor(private readonly ctx: TransferContext) {
    this.retried = retrying(ctx.remote, ctx.job.retries, {
      signal: ctx.signal,
      onRetry: (err, attempt, delay, call) =>
        ctx.logger.warn(`${RETRIED_VERB[call.method] ?? call.method} ${call.path}: ${(err as Error).message} (attempt ${attempt} of ${ctx.job.retries.attempts}; retrying in ${delay} ms)`),
    });
  }

  private get job(): JobConfig {
    return this.ctx.job;
  }

  /** Every local read, write and delete goes through this: no symlink redirects it out (safe-open.ts). */
  private get folder(): JobFolder {
    return (this.folderOnce ??= new JobFolder(this.job.local, { followSymlinks: this.job.followSymlinks, followRootSymlink: !!this.job.followRootSymlink }));
  }

  /** Where this run keeps the versions of what it overwrites or deletes; undefined without "backup". */
  get versions(): RunVersions | undefined {
    const job = this.job;
    if (!job.backup) return undefined;
    return (this.versionsOnce ??= new RunVersions({
      job: { ...job, backup: job.backup }, remote: this.ctx.remote, folder: this.folder, logger: this.ctx.logger, startedMs: this.ctx.startedMs ?? Date.now(),
    }));
  }

  /** A server path below the job's remote folder, relative to it. */
  private remoteRel(abs: string): string {
    return this.job.remotePath === "/" ? abs.slice(1) : abs.slice(this.job.remotePath.length + 1);
  }

  /** Moves the server's file into this run's versions folder, retried (each attempt sees what the last one did). */
  private keepRemoteVersion(versions: RunVersions, abs: string): Promise<string | undefined> {
    return this.retry(`keep the old version of ${abs}`, () => versions.moveRemote(abs, this.remoteRel(abs)));
  }

  private retry<T>(what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    return withRetry(fn, this.job.retries, {
      signal: this.ctx.signal,
      onRetry: (err, attempt, delay) =>
        this.ctx.logger.warn(`${what}: ${(err as Error).message} (attempt ${attempt} of ${this.job.retries.attempts}; retrying in ${delay} ms)`),
    });
  }

  /** The stream a transfer of `rel` passes through: the bandwidth limit, and the count of its bytes for progress. */
  private throttle(rel?: string, startAt = 0): (() => Transform) | undefined {
    const { bandwidth, onMoving } = this.ctx;
    if (!onMoving || rel === undefined) return bandwidth ? () => bandwidth.stream() : undefined;
    return () => {
      let passed = startAt;
      const count = (n: number) => onMoving(rel, (passed += n));
      return bandwidth ? bandwidth.stream(count) : meterStream(count);
    };
  }

  remoteAbs(rel: string): string {
    return remoteJoin(this.job.remotePath, rel);
  }

  localAbs(rel: string): string {
    return localPathInside(this.job.local, rel);
  }

  /** Creates the remote folder and its parents (each at most once per run). */
  async ensureRemoteDir(rel: string): Promise<void> {
    if (this.remoteDirs.has(rel)) return;
    await this.ensureRemoteDir(parentOf(rel));
    await this.retried.mkdir(this.remoteAbs(rel));
    this.remoteDirs.add(rel);
  }

  /** Creates the job's remote root and its parents (upload jobs may start with none). */
  async ensureRemoteRoot(): Promise<void> {
    const segments = this.job.remotePath.split("/").filter(Boolean);
    let path = "";
    for (const s of segments) {
      path += "/" + s;
      await this.retried.mkdir(path);
    }
  }

  /** afterTransfer "delete" or { archive }: the source goes once the copy is recorded (sync/after-transfer.ts). */
  private get takesSource(): boolean {
    return this.job.afterTransfer !== undefined && this.job.afterTransfer !== "keep" && this.job.direction !== "two-way";
  }

  private async verifyHash(remotePath: string, localPath: string | number): Promise<void> {
    // A job that takes the source away checks the server's hash too, where it offers one.
    if (this.job.verify !== "hash" && !this.takesSource) return;
    // HASH, else XSHA256/XSHA1/XMD5... (protocol/server-hash.ts)
    const method = chooseHashMethod(this.ctx.remote.capabilities);
    if (!method) return; // the server offers no hash we know: size was checked, which is all we can do
    const [remote, localHex] = await Promise.all([
      this.ctx.remote.hash(remotePath, method),
      hashLocal(localPath, method.nodeName),
    ]);
    if (remote && remote.hex !== localHex) {
      throw new RemoteError(`${remotePath}: ${remote.algorithm} (${remote.command}) differs after transfer (local ${localHex}, remote ${remote.hex})`, {
        kind: "transient",
        phase: "operation",
      });
    }
  }

  /**
   * Upload `rel` to a temporary name beside the target, check its size (and hash), set its time,
   * rename it into place, record it. Returns the bytes sent.
   */
  async upload(rel: string, local: LocalEntry, remote: RemoteEntry | undefined, placedRemote: boolean, targetRel = rel): Promise<number> {
    // Opened once, without following a symlink swapped in since the scan; every read of this
    // upload (the transfer, its retries, the hash) goes through this descriptor.
    const source = openSource(this.folder, local.diskPath ?? rel, this.localAbs(local.diskPath ?? rel));
    try {
      return await this.uploadOpened(source, rel, local, remote, placedRemote, targetRel);
    } finally {
      closeSync(source.fd);
      this.ctx.onMoving?.(targetRel, undefined);
    }
  }

  private async uploadOpened(source: { fd: number; stat: Stats }, rel: string, local: LocalEntry, remote: RemoteEntry | undefined, placedRemote: boolean, targetRel: string): Promise<number> {
    const localPath = this.localAbs(local.diskPath ?? rel);
    const before = source.stat;
    if (!before.isFile()) throw new UnsafeLocalPath(`${localPath} is no longer a regular file; not sent`);
    // What was opened must be what the scan saw: another file put in its place meanwhile waits
    // for the next run's scan.
    if (!sameLocalVersion(before, local)) throw new SourceChanged(`${localPath} changed since the scan; it will be sent next run`);
    // A new remote file keeps the local spelling (NFD names from macOS stay NFD).
    const spelled = remote?.serverPath ?? (targetRel === rel ? local.diskPath : undefined) ?? targetRel;
    const remoteDirRel = parentOf(spelled);
    await this.ensureRemoteDir(remoteDirRel);
    const target = this.remoteAbs(spelled);

    const temp = await this.uploadTempFor(targetRel, remoteDirRel, before);
    const dropTemp = async () => {
      await this.ctx.remote.remove(temp.path).catch(() => undefined);
      this.ctx.state.partials.end(this.job.name, targetRel, "upload");
    };
    await this.sendToTemp(source.fd, before, temp, target, localPath).catch(async (err) => {
      if (err instanceof SourceChanged) await dropTemp();
      throw err;
    });
    await this.verifyHash(temp.path, source.fd);

    const after = fstatSync(source.fd);
    if (!sameLocalVersion(after, before)) {
      await dropTemp();
      throw new SourceChanged(`${localPath} changed while it was being sent; it will be sent again next run`);
    }
    // A two-way job, or any upload over a file the plan saw, overwrites only the version the plan
    // saw: a partner may have written the file since (the window left is one round trip).
    const recheck = remote !== undefined || this.job.direction === "two-way";
    const placed = await this.placeUpload(temp.path, target, before, recheck ? { planned: remote } : undefined).catch(async (err) => {
      if (err instanceof RemoteChanged) await dropTemp();
      throw err;
    });
    this.recordSynced(targetRel, uploadedSignature(before, placed), { remote: placedRemote }, "upload");
    this.ctx.onBytes?.(before.size);
    return before.size;
  }

  /**
   * The temporary file an upload writes: the one of an interrupted upload of the same source
   * version (resumed), else a fresh name, recorded in the partials table before the first byte.
   */
  private async uploadTempFor(targetRel: string, remoteDirRel: string, before: Stats): Promise<UploadTemp> {
    const { state } = this.ctx;
    const job = this.job;
    // Resume an interrupted upload of the same source version into its temporary file.
    const partial = state.partials.get(job.name, targetRel, "upload");
    this.noUploadResume ??= state.capabilities.uploadResumeRefused(job.remote);
    const resumable = partial?.sourceMtime !== undefined && sameLocalVersion(before, { size: partial.sourceSize, mtimeMs: partial.sourceMtime }) && !this.noUploadResume;
    const temp: UploadTemp = {
      path: "",
      rel: targetRel,
      resumed: resumable,
      fresh: () => remoteJoin(this.remoteAbs(remoteDirRel), tempNameFor(baseName(targetRel))),
      record: (tempPath: string) =>
        state.partials.begin({ job: job.name, path: targetRel, direction: "upload", tempPath, sourceSize: before.size, sourceMtime: Math.floor(before.mtimeMs), startedAt: Date.now() }),
    };
    temp.path = resumable ? partial.tempPath : temp.fresh();
    if (!resumable) {
      if (partial) await this.ctx.remote.remove(partial.tempPath).catch(() => undefined);
      temp.record(temp.path);
    }
    return temp;
  }

  /**
   * Sends the open file into its temporary file, with retries; each attempt after the first
   * resumes where the server's copy ends (APPE) unless the server refuses that. A refusal learnt
   * here is remembered for later runs once the whole file got through.
   */
  private async sendToTemp(fd: number, before: Stats, temp: UploadTemp, target: string, localPath: string): Promise<void> {
    const attempts: UploadAttempts = { firstTry: !temp.resumed, lastTimedOut: false };
    await this.retry(`upload ${target}`, () =>
      this.sendAttempt(fd, before, temp, target, localPath, attempts).catch((err) => {
        attempts.lastTimedOut = isTimeout(err);
        throw err;
      }),
    );
    if (attempts.refusedAt !== undefined) {
      // Learnt only once a whole upload got through where the resume did not: the data path works.
      this.ctx.state.capabilities.rememberUploadResumeRefused(this.job.remote);
      this.ctx.logger.warn(`the server did not take the resumed upload of ${target} at byte ${attempts.refusedAt}: sent it whole; later uploads to this server are not resumed`);
    }
  }

  /** One attempt of sendToTemp: from where the temporary file ends, then its size checked. */
  private async sendAttempt(fd: number, before: Stats, temp: UploadTemp, target: string, localPath: string, attempts: UploadAttempts): Promise<void> {
    const server = this.ctx.remote;
    if (attempts.lastTimedOut) {
      // The server may never have noticed the connection that went silent, and still hold
      // that session's lock on the temporary file (vsftpd's lock_upload_files): writing it
      // again would wait on the lock until the server's own timeout. Start a fresh name.
      attempts.lastTimedOut = false;
      temp.path = await this.replaceTemp(temp.path, temp.fresh(), temp.record);
    }
    const startAt = attempts.firstTry ? 0 : await this.uploadResumePoint(temp.path, before.size, attempts);
    // Sent whole again: under a fresh name, as a server may refuse to overwrite (AllowOverwrite off).
    if (!attempts.firstTry && this.noUploadResume) temp.path = await this.replaceTemp(temp.path, temp.fresh(), temp.record);
    attempts.firstTry = false;
    attempts.appendedFrom = undefined;
    if (startAt > 0) this.ctx.logger.info(`resuming upload of ${target} at byte ${startAt}`);
    let sizeAfter: number | undefined;
    if (startAt < before.size || before.size === 0) {
      if (startAt > 0) attempts.appendedFrom = startAt;
      ({ sizeAfter } = await server.upload(temp.path, { fd, size: before.size, startAt }, { append: startAt > 0, throttle: this.throttle(temp.rel, startAt) }));
    }
    const size = sizeAfter ?? (await server.size(temp.path));
    if (size !== before.size) {
      // A source that shrank (or was replaced) mid-transfer is not a network fault: no retry.
      const now = fstatSync(fd);
      if (!sameLocalVersion(now, before)) throw new SourceChanged(`${localPath} changed while it was being sent; it will be sent again next run`);
      throw new RemoteError(`${target}: the server holds ${size} bytes after the upload, expected ${before.size}`, { kind: "transient", phase: "operation" });
    }
  }

  /** Where a retried upload continues: the size of the temporary file on the server, or 0 to send it whole. */
  private async uploadResumePoint(tempPath: string, size: number, attempts: UploadAttempts): Promise<number> {
    const server = this.ctx.remote;
    if (!server.capabilities?.size) return 0;
    const have = await server.size(tempPath).catch(() => 0);
    // The last attempt resumed here and added no byte: the server refuses to append
    // (ProFTPD's default AllowStoreRestart off answers APPE with 451 and resets the data
    // connection, so the reply is rarely even seen). Resuming again would fail the same way.
    if (attempts.appendedFrom !== undefined && have === attempts.appendedFrom) {
      attempts.refusedAt = attempts.appendedFrom;
      this.noUploadResume = true;
    }
    return !this.noUploadResume && have > 0 && have <= size ? have : 0;
  }

  /**
   * Gives the uploaded temporary file its time and renames it into place. With `recheck`, only
   * over the version the plan saw (`planned`: none for a new file). Returns whether the time was
   * set, or else the time the server gave it, as listed.
   */
  private async placeUpload(temp: string, target: string, before: Stats, recheck: { planned: RemoteEntry | undefined } | undefined): Promise<PlacedUpload> {
    const server = this.ctx.remote;
    const versions = this.versions;
    const there = recheck ? await server.stat(target) : undefined;
    if (recheck && !sameRemoteVersion(recheck.planned, there)) {
      throw new RemoteChanged(`${target} changed on the server during the run; not overwritten, decided again next run`);
    }
    // With versions, the file about to be replaced moves into the versions folder first. (An
    // upload job's new file is not looked for on the server: as without versions, the listing
    // that saw none is trusted, and a stat per new file would cost a round trip each.)
    const version = versions && there?.type === "file" ? await this.keepRemoteVersion(versions, target) : undefined;
    try {
      return await this.placeTemp(temp, target, before);
    } catch (err) {
      // Not placed: the kept version goes back, so the file is not missing until the next run.
      if (version) await this.retry(`put back ${target}`, () => versions!.putBackRemote(version, target)).catch(() => undefined);
      throw err;
    }
  }

  private async placeTemp(temp: string, target: string, before: Stats): Promise<PlacedUpload> {
    const server = this.ctx.remote;
    // The time set before the rename, so the file appears under its real name with its final
    // time; without MFMT the server gave the file its own time, read back as the listing shows it,
    // so that a later same-size change on the server is seen (and not taken for our upload).
    const options = { mtimeMs: before.mtimeMs, expectedSize: before.size };
    const { mtimeSet, leftover, listed } = await this.retry(`rename ${temp} to ${target}`, async (attempt) =>
      (attempt > 1 ? await this.placedAlready(temp, target, before.size) : undefined) ?? server.place(temp, target, options),
    );
    if (leftover) this.ctx.logger.warn(`${target} is in place, but the old version moved aside as ${leftover} could not be deleted`);
    return { mtimeSet, listed: listed?.type === "file" && listed.size === before.size ? listed : undefined };
  }

  /**
   * Before a rename is tried again (its connection failed; one shared with another call's transfer
   * fails for both): the first try may have renamed the file before the failure. The temporary file
   * gone and the target a file of the size sent say it did: it is not renamed again (which would
   * fail, the temporary name being gone). The time is read back as the server lists it.
   */
  private async placedAlready(temp: string, target: string, size: number): Promise<Placed | undefined> {
    const server = this.ctx.remote;
    if ((await server.stat(temp)) !== undefined) return undefined;
    const now = await server.stat(target);
    if (now?.type !== "file" || now.size !== size) return undefined;
    this.ctx.logger.info(`${target}: found in place after its connection failed during the rename`);
    return { mtimeSet: false, listed: now };
  }

  /**
   * Removes the old temporary file and records a new name in its place. If the old file cannot
   * be removed (other than "not there"), its name is kept: a temporary file is never forgotten.
   */
  private async replaceTemp(old: string, fresh: string, record: (tempPath: string) => void): Promise<string> {
    try {
      await this.ctx.remote.remove(old);
    } catch (err) {
      if (!isNotThere(err)) return old;
    }
    record(fresh);
    return fresh;
  }

  /**
   * Download `remote` to a temporary file beside the target, flush and check it, give it the
   * remote time, rename it into place, record it. Returns the bytes received.
   */
  async download(rel: string, remote: RemoteEntry, local: LocalEntry | undefined, placedLocal: boolean, targetRel = rel): Promise<number> {
    const diskRel = local?.diskPath ?? (targetRel === rel ? remote.serverPath : undefined) ?? targetRel;
    this.localAbs(diskRel); // refuses a name that would leave the job folder
    // The target's folder is opened once, by descriptor (made if missing, never through a symlink
    // out of the job folder): the temporary file, its checks and the rename all go through it.
    const dir = this.folder.openDir(parentOf(diskRel), { create: true });
    try {
      return await this.downloadInto(dir, diskRel, rel, remote, local, placedLocal, targetRel);
    } finally {
      dir.close();
      this.ctx.onMoving?.(targetRel, undefined);
    }
  }

  private async downloadInto(dir: LocalDir, diskRel: string, rel: string, remote: RemoteEntry, local: LocalEntry | undefined, placedLocal: boolean, targetRel: string): Promise<number> {
    const target = this.localAbs(diskRel);
    const source = this.remoteAbs(remote.serverPath ?? rel);
    /** The same name, reached through the open folder (`temp` and `target` stay real paths for the state and messages). */
    const io = (path: string) => dir.at(basename(path));

    // The exact time of the version about to be fetched, checked again once every byte is in.
    // Where it must be asked (a coarse listing), a small file fetched afresh asks it in the
    // transfer's own write (answered before the first byte); else in a round trip of its own first.
    const timeWithTransfer = this.timeWithTransfer(targetRel, remote);
    let exactBefore = timeWithTransfer ? undefined : await this.exactTimeBefore(source, remote);
    const onTimeBefore = timeWithTransfer ? (ms: number | undefined) => void (exactBefore ??= ms) : undefined;
    const { temp, ranges } = this.downloadTempFor(targetRel, target, source, remote, exactBefore, io);
    const discard = async () => {
      await unlinkQuiet(io(temp));
      this.ctx.state.partials.end(this.job.name, targetRel, "download");
    };
    const saveProgress = () => this.ctx.state.partials.saveRanges(this.job.name, targetRel, ranges.map((r) => [r.flushed, r.end]));

    let received: WholeDownload = {};
    await this.retry(`download ${source}`, async () => {
      if (ranges.length > 0) await this.downloadSegments(source, io(temp), ranges, () => (saveProgress(), this.segmentsMoving(targetRel, ranges)));
      else received = await this.downloadWhole(source, io(temp), remote.size, onTimeBefore, targetRel);
    }).catch(async (err) => {
      if (timeWithTransfer && isNotThere(err)) {
        await discard();
        throw new SourceChanged(`${source} is gone from the server since it was listed; left for the next run`);
      }
      // Bytes past the announced size: what was kept is no version of the file worth resuming.
      if (err instanceof DownloadTooLong) {
        await discard();
        if (await this.changedOnServer(source, remote, exactBefore)) throw this.changedWhileFetched(source);
      }
      throw err;
    });
    await this.checkReceived(source, io(temp), remote, exactBefore, discard, received);
    const recorded = recordedRemoteTime(remote, exactBefore);
    // The local file gets the server's time in UTC, exact where MDTM gives it, never in the future (download-times.ts).
    const localTime = downloadTimeOf(remote, exactBefore, this.ctx.remote.serverClock?.known, Date.now());
    if (localTime.futureMs !== undefined) {
      this.ctx.logger.warn(`${source} is dated ${new Date(localTime.futureMs).toISOString()} by the server, in the future: ${target} gets the time of download instead`);
    }
    if (localTime.ms !== undefined) {
      const t = new Date(localTime.ms);
      lutimesSync(io(temp), t, t);
    }
    // Two-way: if the local file changed since the plan was made, someone is working on it.
    // Do not overwrite it; the next run sees both changes and resolves them as a conflict.
    const now = statSync(io(target), { throwIfNoEntry: false });
    if (local ? !now || !sameLocalVersion(now, local) : now !== undefined) {
      await discard();
      throw new SourceChanged(`${target} changed locally during the run; left as it is, resolved next run`);
    }
    // The folder may have been moved out of the job folder (and a symlink left in its place)
    // while the bytes came in: then the file is not published there.
    try {
      dir.checkStillInside();
    } catch (err) {
      await discard();
      throw err;
    }
    // With versions, the local file about to be replaced moves into the versions folder first.
    const versions = this.versions;
    const version = versions && now ? await versions.moveLocal(dir, basename(target), diskRel) : undefined;
    try {
      publish(io(temp), io(target));
    } catch (err) {
      if (version) versions!.putBackLocal(dir, basename(target), version);
      throw err;
    }
    const st = lstatSync(io(target));
    this.recordSynced(
      targetRel,
      { localSize: st.size, localMtimeMs: Math.floor(st.mtimeMs), remoteSize: remote.size, remoteModifyMs: recorded.modifyMs, remotePrecision: recorded.precision },
      { local: placedLocal },
      "download",
    );
    this.ctx.onBytes?.(remote.size);
    return remote.size;
  }

  /**
   * The temporary file a download writes, and its ranges when it is fetched in segments: those of
   * an interrupted download of a version proven the same (resumed), else a fresh name, recorded in
   * the partials table before the first byte.
   */
  private downloadTempFor(targetRel: string, target: string, source: string, remote: RemoteEntry, exactBefore: number | undefined, io: (path: string) => string): { temp: string; ranges: ByteRange[] } {
    const { state } = this.ctx;
    const job = this.job;
    const partial = state.partials.get(job.name, targetRel, "download");
    // A partial download continues only from a version proven the same: its row recorded the
    // exact time when it started. A time to the minute or day (LIST) proves nothing: start over.
    const sameSource = partial && exactBefore !== undefined && partial.sourceSize === remote.size && partial.sourceMtime === exactBefore && dirname(partial.tempPath) === dirname(target);
    // A segmented download continues each range where its bytes were last flushed to disk (the
    // file may have holes after that); any other continues at the file's size.
    const resumeRanges = sameSource && partial.ranges && existsSync(io(partial.tempPath)) ? partial.ranges : undefined;
    const resumable = sameSource && !partial.ranges;
    const temp = resumable || resumeRanges ? partial!.tempPath : join(dirname(target), tempNameFor(baseName(targetRel)));
    let ranges: ByteRange[] = resumeRanges?.map(([flushed, end]) => ({ pos: flushed, end, flushed })) ?? [];
    if (resumeRanges) {
      const left = ranges.reduce((n, r) => n + r.end - r.pos, 0);
      this.ctx.logger.info(`resuming segmented download of ${source}: ${remote.size - left} of ${remote.size} bytes on disk`);
    } else if (!resumable) {
      if (partial) this.unlinkLocalTemp(partial.tempPath);
      const segments = this.segmentsFor(remote.size);
      if (segments > 1) ranges = startSegments(io(temp), remote.size, segments);
      const progress = ranges.length > 0 ? ranges.map((r): [number, number] => [r.flushed, r.end]) : undefined;
      state.partials.begin({ job: job.name, path: targetRel, direction: "download", tempPath: temp, sourceSize: remote.size, sourceMtime: exactBefore ?? remote.modifyMs, startedAt: Date.now(), ranges: progress });
    }
    return { temp, ranges };
  }

  /** One attempt at a download in one piece: it continues at the temporary file's size where the server can (REST). */
  /** Returns the server's stamp of the file right after the last byte, where it gave one at no round trip. */
  private async downloadWhole(source: string, tempIo: string, size: number, onTimeBefore?: (ms: number | undefined) => void, rel?: string): Promise<WholeDownload> {
    const have = sizeNow(tempIo) ?? 0;
    const startAt = have > 0 && have <= size && this.ctx.remote.capabilities?.restStream ? have : 0;
    if (startAt > 0) this.ctx.logger.info(`resuming download of ${source} at byte ${startAt}`);
    if (startAt < size || size === 0) {
      const { stampAfter, synced } = await downloadFile(this.ctx.remote, source, tempIo, { startAt, throttle: this.throttle(rel, startAt), announcedSize: size, onTimeBefore });
      return { stampAfter, synced };
    }
    return {};
  }

  /**
   * Every byte is in: flushed, of the listed size, still the version it was when the first byte
   * came, and of the server's hash where verify=hash. Anything else discards the temporary file.
   */
  private async checkReceived(source: string, tempIo: string, remote: RemoteEntry, exactBefore: number | undefined, discard: () => Promise<void>, received: WholeDownload): Promise<void> {
    const { stampAfter, synced } = received;
    // Flushed by the sink itself before it closed the file, else here.
    if (!synced) await fsyncFile(tempIo);
    const got = sizeNow(tempIo);
    if (got !== remote.size) {
      await discard();
      throw new RemoteError(`${source}: received ${got} bytes, the listing said ${remote.size}; it will be fetched again next run`, { kind: "transient", phase: "operation" });
    }
    // Every byte is in: the file must still be the version it was when the first byte came.
    if (await this.changedOnServer(source, remote, exactBefore, stampAfter)) {
      await discard();
      throw this.changedWhileFetched(source);
    }
    await this.verifyHash(source, tempIo).catch(async (err) => {
      await discard(); // what the temporary file holds is no version of the file: never resume it
      throw err;
    });
  }

  /**
   * The exact modification time of the remote file now: the listing's own when it has seconds
   * (MLSD), else MDTM's (LIST gives minutes or days). Undefined when the server offers neither.
   * A file gone since the listing is a change: SourceChanged.
   */
  /**
   * Whether the exact time before a download can be asked with the transfer: the listing's time is
   * coarse, the server has MDTM, and the file is small and fetched afresh (no partial download to
   * resume, whose decision needs the time first; a file this small is fetched whole again anyway).
   */
  private timeWithTransfer(targetRel: string, remote: RemoteEntry): boolean {
    if (remote.precision === "second" || remote.precision === "ms") return false;
    if (!this.ctx.remote.capabilities?.mdtm || remote.size > TIME_WITH_TRANSFER_MAX_BYTES || this.segmentsFor(remote.size) > 1) return false;
    return !this.ctx.state.partials.get(this.job.name, targetRel, "download");
  }

  private async exactTimeBefore(source: string, remote: RemoteEntry): Promise<number | undefined> {
    if (remote.precision === "second" || remote.precision === "ms") return remote.modifyMs;
    if (!this.ctx.remote.capabilities?.mdtm) return undefined;
    try {
      return await this.retried.exactTime(source);
    } catch (err) {
      if (isNotThere(err)) throw new SourceChanged(`${source} is gone from the server since it was listed; left for the next run`);
      throw err;
    }
  }

  /**
   * After a download: whether the server's file is no longer the version fetched. Its size must
   * still be the listed one and its exact time (MLST, else MDTM) the one taken before the first
   * byte; a file gone counts as changed. Without MLST, SIZE or MDTM there is nothing to compare.
   */
  private async changedOnServer(source: string, remote: RemoteEntry, exactBefore: number | undefined, stampAfter?: RemoteStamp): Promise<boolean> {
    let now = stampAfter;
    try {
      now ??= await this.retried.stamp(source);
    } catch (err) {
      if (isNotThere(err)) return true;
      throw err;
    }
    if (now.size !== undefined && now.size !== remote.size) return true;
    return exactBefore !== undefined && now.modifyMs !== undefined && now.modifyMs !== exactBefore;
  }

  private changedWhileFetched(source: string): SourceChanged {
    return new SourceChanged(`${source} changed on the server while it was being downloaded; discarded, it will be fetched again next run`);
  }

  /** A segmented download's bytes on disk so far, for progress (its ranges' flushes: a few per range). */
  private segmentsMoving(rel: string, ranges: ByteRange[]): void {
    if (!this.ctx.onMoving) return;
    const size = ranges.length ? ranges[ranges.length - 1].end : 0;
    this.ctx.onMoving(rel, size - ranges.reduce((n, r) => n + (r.end - r.flushed), 0));
  }

  /** How many ranges to fetch `size` bytes in: several connections at once for big files. */
  private segmentsFor(size: number): number {
    const caps = this.ctx.remote.capabilities;
    if (size < SEGMENT_MIN_BYTES || !caps?.restStream || this.ctx.bandwidth) return 1;
    return Math.min(MAX_SEGMENTS, this.ctx.remote.width);
  }

  /**
   * Fetches the unfinished ranges at once, each over its own connection (REST), into one file.
   * All of them end before this returns or throws, so a retry never races a range still writing;
   * a retry continues each range where it stopped.
   */
  private async downloadSegments(source: string, temp: string, ranges: ByteRange[], onFlushed: () => void): Promise<void> {
    const last = ranges[ranges.length - 1];
    const results = await Promise.allSettled(
      ranges.filter((r) => r.pos < r.end).map((r) => downloadRange(this.ctx.remote, source, temp, r, r === last, onFlushed)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * Records both sides' signatures of a file just synced (the "placed by this job" flags only ever
   * turn on) and closes its partial-transfer row.
   */
  private recordSynced(
    rel: string,
    sig: Pick<StateEntry, "localSize" | "localMtimeMs" | "remoteSize" | "remoteModifyMs" | "remotePrecision">,
    placed: { remote?: boolean; local?: boolean },
    direction: "upload" | "download",
  ): void {
    const { state } = this.ctx;
    // One commit for both rows: with thousands of small files the commits were a visible cost.
    state.entries.batch(() => {
      // The flags a row already there has on stay on (in the statement: no read of the row first).
      state.entries.putKeepingPlaced(this.job.name, {
        path: rel,
        type: "file",
        ...sig,
        placedRemote: !!placed.remote,
        placedLocal: !!placed.local,
        // Recorded before the source is touched: a run cut short after taking it is no deletion.
        ...(this.takesSource ? { sourceTaken: true } : {}),
      });
      state.partials.end(this.job.name, rel, direction);
    });
  }

  /** keep-both: the remote version moves aside on the server, the local one takes the name, both sides get both. */
  async keepBoth(rel: string, conflictName: string, local: LocalEntry, remote: RemoteEntry): Promise<number> {
    const aside = this.remoteAbs(conflictName);
    await this.retry(`rename ${this.remoteAbs(remote.serverPath ?? rel)}`, () =>
      this.ctx.remote.rename(this.remoteAbs(remote.serverPath ?? rel), aside),
    );
    let bytes = await this.upload(rel, local, undefined, true);
    const moved: RemoteEntry = { ...remote, path: conflictName, serverPath: undefined };
    bytes += await this.download(conflictName, moved, undefined, true);
    return bytes;
  }

  async mkdirRemote(rel: string, spelled = rel): Promise<void> {
    await this.ensureRemoteDir(spelled);
    this.recordDir(rel);
  }

  async mkdirLocal(rel: string, spelled = rel): Promise<void> {
    this.localAbs(spelled); // refuses a name that would leave the job folder
    this.folder.openDir(spelled, { create: true }).close();
    this.recordDir(rel);
  }

  private recordDir(rel: string): void {
    this.ctx.state.entries.put(this.job.name, {
      path: rel, type: "dir", localSize: 0, localMtimeMs: 0, remoteSize: 0, remotePrecision: "none", placedRemote: false, placedLocal: false,
    });
  }

  /**
   * Deletes a server file only if it is still the version the plan saw (`planned`, from the
   * listing): deletions run after every transfer, and a partner may have edited it meanwhile.
   * A file already gone needs no DELE. A folder goes only when empty (RMD).
   */
  async deleteRemote(rel: string, type: "file" | "dir", planned?: RemoteEntry): Promise<void> {
    const abs = this.remoteAbs(planned?.serverPath ?? rel);
    const server = this.ctx.remote;
    await this.retry(`delete ${abs}`, async () => {
      if (type === "dir") return server.removeDir(abs);
      const now = await server.stat(abs);
      if (!now) return;
      if (planned && !sameRemoteVersion(planned, now)) throw new RemoteChanged(`${abs} changed on the server since it was listed; not deleted`);
      // With versions the file moves into the versions folder instead (a retry after a cut finds it gone: done).
      if (this.versions) await this.versions.moveRemote(abs, this.remoteRel(abs));
      else await server.remove(abs);
    });
    this.ctx.state.entries.delete(this.job.name, rel);
  }

  /** Deletes a local file only if it is still the version the plan saw (state signature). */
  async deleteLocal(rel: string, type: "file" | "dir", expected?: StateEntry, diskPath?: string): Promise<void> {
    const spelled = diskPath ?? rel;
    const abs = this.localAbs(spelled);
    // Through the parent folder opened by descriptor: a symlink swapped in for a folder on the way
    // cannot make this delete a file outside the job folder.
    let dir: LocalDir | undefined;
    try {
      dir = this.folder.openDir(parentOf(spelled));
    } catch (err) {
      if (type === "dir" || (err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    try {
      if (type === "dir") {
        rmdirSync(dir!.at(baseName(spelled)));
      } else if (dir) {
        const st = statSync(dir.at(baseName(spelled)), { throwIfNoEntry: false });
        if (st && expected && !sameLocalVersion(st, recordedLocalVersion(expected))) {
          throw new SourceChanged(`${abs} changed since the last sync; not deleted`);
        }
        if (st && this.versions) await this.versions.moveLocal(dir, baseName(spelled), spelled);
        else if (st) unlinkSync(dir.at(baseName(spelled)));
      }
    } finally {
      dir?.close();
    }
    this.ctx.state.entries.delete(this.job.name, rel);
  }

  /** Uploads the done marker last, so a partner knows the batch is complete. */
  async uploadDoneMarker(name: string, content: string): Promise<void> {
    const target = this.remoteAbs(name);
    const temp = remoteJoin(this.job.remotePath, tempNameFor(name));
    await this.retry(`upload ${target}`, async () => {
      await this.ctx.remote.upload(temp, { bytes: Buffer.from(content) });
      await this.ctx.remote.rename(temp, target);
    });
  }

  /** Removes a download's temporary file (an absolute path from the state), through the job folder's descriptors. */
  private unlinkLocalTemp(tempPath: string): void {
    try {
      const rel = relative(this.job.local, tempPath).split(sep).join("/");
      const dir = this.folder.openDir(parentOf(rel));
      try {
        unlinkSync(dir.at(baseName(rel)));
      } finally {
        dir.close();
      }
    } catch {
      // already gone, or no longer reachable inside the job folder: nothing of ours to remove
    }
  }

  /** Removes temporary files of transfers that this run did not resume. */
  async cleanupPartials(): Promise<void> {
    for (const p of this.ctx.state.partials.list(this.job.name)) {
      if (p.direction === "download") {
        this.unlinkLocalTemp(p.tempPath);
      } else {
        try {
          await this.ctx.remote.remove(p.tempPath);
        } catch (err) {
          // 550: already gone. Anything else: keep the row, so a later run removes the file.
          if (!isNotThere(err)) {
            this.ctx.logger.warn(`could not remove temporary file ${p.tempPath}: ${(err as Error).message}; will retry next run`);
            continue;
          }
        }
      }
      this.ctx.state.partials.end(this.job.name, p.path, p.direction);
    }
  }
}

