/**
 * The agent's own files (state database, config, job files, password files, logs) as seen from
 * one job's folder: never part of the job's tree, on either side. A job whose folder holds them
 * (`"local": "."` beside agent.config.json) would otherwise upload the password file and the
 * state, download over them, and, when watched, trigger itself at every write to its own state.
 * Plain data, so that a scan worker thread can rebuild the same tests.
 */

export interface OwnFilesSpec {
  /** Job-relative paths (NFC, "/"-separated) of own files inside the job's folder. */
  files: string[];
  /** Job-relative paths of own folders inside the job's folder: everything below them is own too. */
  dirs: string[];
  /** The log files: names matching `pattern` (a RegExp source) in the job-relative folder `dir` ("" for the top). */
  logs?: { dir: string; pattern: string };
  /**
   * Device and inode numbers of the own files and folders that exist, wherever they are: a hard
   * link, a bind mount or a followed symlink inside the job's folder is the same file under
   * another name.
   */
  inodes: Array<[dev: number, ino: number]>;
}

/**
 * The names the log file's rotation writes beside `log.file` (src/log.ts: `BASE-YYYY-MM-DD.EXT`,
 * `.N` appended when one day outgrows its size limit, and the audit file `.BASE-audit.json`),
 * and `log.file`'s own name.
 */
export function logNamePattern(base: string, ext: string): string {
  const b = escapeRegExp(base);
  const e = escapeRegExp(ext);
  return `^(?:${b}${e}|${b}-\\d{4}-\\d{2}-\\d{2}${e}(?:\\.\\d+)?(?:\\.gz)?|\\.${b}-audit\\.json)$`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A test of job-relative paths (NFC) against the own files; undefined when none is inside the job's folder. */
export function makeOwnPathTest(spec: OwnFilesSpec | undefined): ((path: string) => boolean) | undefined {
  if (!spec || (spec.files.length === 0 && spec.dirs.length === 0 && !spec.logs)) return undefined;
  const exact = new Set([...spec.files, ...spec.dirs]);
  const below = spec.dirs.map((d) => d + "/");
  const logs = spec.logs;
  const logPrefix = logs && logs.dir !== "" ? logs.dir + "/" : "";
  const logName = logs ? new RegExp(logs.pattern) : undefined;
  return (path) => {
    if (exact.has(path)) return true;
    for (const prefix of below) if (path.startsWith(prefix)) return true;
    if (logName && path.startsWith(logPrefix)) {
      const name = path.slice(logPrefix.length);
      if (!name.includes("/") && logName.test(name)) return true;
    }
    return false;
  };
}

/** A test of lstat/stat results against the own files' device and inode numbers. */
export function makeOwnInodeTest(spec: OwnFilesSpec | undefined): ((st: { dev: number; ino: number }) => boolean) | undefined {
  if (!spec || spec.inodes.length === 0) return undefined;
  // One Set lookup by inode number per scanned entry; the device is compared only on a hit.
  const devsByIno = new Map<number, number[]>();
  for (const [dev, ino] of spec.inodes) devsByIno.set(ino, [...(devsByIno.get(ino) ?? []), dev]);
  return (st) => {
    const devs = devsByIno.get(st.ino);
    return devs !== undefined && devs.includes(st.dev);
  };
}
