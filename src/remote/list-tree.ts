import { FileType, FTPError, type FileInfo } from "basic-ftp";
import { FtpsError } from "../errors.js";
import type { Logger } from "../log.js";
import type { RemoteEntry, RemoteListing } from "../plan/types.js";
import { isTempName } from "../local/temp-names.js";
import { remoteTimeOf } from "./list-times.js";
import { remoteJoin, unsafeNameReason } from "./names.js";
import type { FtpsPool } from "./pool.js";
import { withRetry, type RetryPolicy } from "./retry.js";

export interface ListTreeOptions {
  /** Whether a relative path (and, for dirs, what is below it) is part of the job. */
  accept: (path: string, type: "file" | "dir") => boolean;
  retry: RetryPolicy;
  logger?: Logger;
  signal?: AbortSignal;
  now?: Date;
}

const MAX_DEPTH = 200;
const MAX_ENTRIES = 2_000_000;

export class RemoteRootMissing extends FtpsError {
  constructor(message: string) {
    super(message, { code: 550, errorClass: "permanent", phase: "operation" });
  }
}

/**
 * Lists the whole job tree, folders in parallel over the pool (one listing per connection at a
 * time). A folder that cannot be listed after retries marks the listing incomplete, and an
 * incomplete listing never turns into deletions. Names are hostile until checked: anything that
 * is not a single safe path segment is refused and logged, never used.
 */
export async function listTree(pool: FtpsPool, root: string, opts: ListTreeOptions): Promise<RemoteListing> {
  const entries = new Map<string, RemoteEntry>();
  const failedDirs: string[] = [];
  const now = opts.now ?? new Date();
  // NFC path of a folder -> its spelling on the server, for the commands that list it.
  const dirServerPath = new Map<string, string>();


  // A LIST of a folder that does not exist comes back empty on some servers (vsftpd), which
  // would look like "everything was deleted". CWD tells the difference.
  await withRetry(
    () =>
      pool.use(async (c) => {
        try {
          await c.client.send("CWD " + root);
        } catch (err) {
          if (err instanceof FTPError && err.code === 550) throw new RemoteRootMissing(`remote folder ${root} does not exist`);
          throw err;
        }
      }),
    opts.retry,
    { signal: opts.signal },
  );

  const queue: string[] = [""];
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      while (queue.length > 0 && active < pool.size) {
        const dir = queue.shift()!;
        active++;
        listOne(dir)
          .then(
            (subdirs) => queue.push(...subdirs),
            (err) => {
              failedDirs.push(dir);
              opts.logger?.warn(`cannot list remote folder ${remoteJoin(root, dir)}: ${(err as Error).message}`);
            },
          )
          .finally(() => {
            active--;
            if (queue.length === 0 && active === 0) resolve();
            else pump();
          });
      }
    };
    pump();
  });

  async function listOne(dir: string): Promise<string[]> {
    // Bounds against a server that invents folders without end (each listing is capped on its own).
    if (dir.split("/").length > MAX_DEPTH) throw new Error(`more than ${MAX_DEPTH} folder levels: not listed`);
    if (entries.size > MAX_ENTRIES) throw new Error(`more than ${MAX_ENTRIES} entries in the tree: not listed`);
    const serverDir = dir === "" ? root : remoteJoin(root, dirServerPath.get(dir) ?? dir);
    const infos = await withRetry(() => pool.use((c) => c.client.list(serverDir)), opts.retry, { signal: opts.signal });
    const subdirs: string[] = [];
    for (const info of infos) {
      const entry = toEntry(dir, info);
      if (!entry) continue;
      if (!opts.accept(entry.path, entry.type)) continue;
      entries.set(entry.path, entry);
      if (entry.type === "dir") subdirs.push(entry.path);
    }
    return subdirs;
  }

  function toEntry(dir: string, info: FileInfo): RemoteEntry | undefined {
    if (info.name === "." || info.name === "..") return undefined;
    // Our own transfers in progress (or left by a crash, resumed or removed through the partials
    // table): never part of the synced tree, or a two-way job would copy them back.
    if (isTempName(info.name)) return undefined;
    const why = unsafeNameReason(info.name);
    if (why) {
      opts.logger?.warn(`refused a remote name in ${remoteJoin(root, dir) || "/"}: ${JSON.stringify(info.name)} (${why})`);
      return undefined;
    }
    const type = info.type === FileType.Directory ? "dir" : info.type === FileType.File ? "file" : undefined;
    if (!type) {
      opts.logger?.debug(`skipped remote ${info.type === FileType.SymbolicLink ? "symlink" : "entry"} ${info.name}`);
      return undefined;
    }
    const parentServer = dir === "" ? "" : dirServerPath.get(dir) ?? dir;
    const serverPath = parentServer ? parentServer + "/" + info.name : info.name;
    const path = serverPath.normalize("NFC");
    if (type === "dir") dirServerPath.set(path, serverPath);
    const t = remoteTimeOf(info, now);
    return {
      path,
      type,
      size: type === "file" ? info.size : 0,
      modifyMs: t.modifyMs,
      precision: t.precision,
      ...(serverPath !== path ? { serverPath } : {}),
    };
  }

  return { entries, complete: failedDirs.length === 0, failedDirs };
}
