/**
 * include / exclude filtering of job-relative paths ("/"-separated, NFC, no leading slash).
 *
 * - Files are kept when they match an include pattern (an empty include list keeps everything)
 *   and neither they nor any of their parent folders match an exclude pattern.
 * - Folders are never dropped for failing to match an include pattern when a file below them
 *   could still match one (so scanners keep descending); only exclude patterns drop a folder,
 *   and then everything below it goes too. `X/**` excludes folder X itself.
 */
import picomatch from "picomatch";
import { toNfc } from "./names.js";
import { makeOwnPathTest, type OwnFilesSpec } from "./own-paths.js";

export type PathFilter = (path: string, type: "file" | "dir") => boolean;

type Matcher = (path: string) => boolean;

const OPTIONS = { dot: true } as const;

function compile(patterns: string[]): Matcher | undefined {
  const cleaned = patterns.map(normalizePattern).filter((p) => p !== "");
  if (cleaned.length === 0) return undefined;
  return picomatch(cleaned, OPTIONS);
}

/** Patterns are written like paths: NFC, no leading "./" or "/", no trailing "/". */
function normalizePattern(pattern: string): string {
  return pattern.normalize("NFC").trim().replace(/^\.\//, "").replace(/^\/+/, "").replace(/\/+$/, "");
}

/** "a/b/c" -> ["a", "a/b"]: the folders a path lives in. */
function parentsOf(path: string): string[] {
  const parts = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

/**
 * Could some path strictly below `dir` match `pattern`? Conservative: the literal part of the
 * pattern before its first glob character must lie on the same branch as `dir`. A pattern that
 * starts with a glob (or is negated) could match anywhere.
 */
function couldMatchBelow(dir: string, pattern: string): boolean {
  const scan = picomatch.scan(pattern);
  if (scan.negated || scan.base === "") return true;
  if (!scan.isGlob) {
    // A literal: only the folders on its way can hold it.
    return scan.base.startsWith(dir + "/");
  }
  return scan.base === dir || scan.base.startsWith(dir + "/") || dir.startsWith(scan.base + "/");
}

/** Include patterns that keep every path ("**\/*" is the default include). */
const EVERY_PATH = new Set(["**", "**/*"]);

export function makePathFilter(include: string[], exclude: string[]): PathFilter {
  // One pattern that keeps everything makes the whole include list keep everything: the default
  // job then takes the no-patterns path below instead of a glob test per path (and picomatch's
  // "**" would miss a folder name with a line break, which "everything" must not).
  if (include.some((p) => EVERY_PATH.has(normalizePattern(p)))) include = [];
  const isIncluded = compile(include);
  const isExcluded = compile(exclude);
  const includePatterns = include.map(normalizePattern).filter((p) => p !== "");
  // No patterns (most jobs): every path is in, and 100 000 paths skip a normalize() each.
  if (isIncluded === undefined && isExcluded === undefined) return () => true;

  // A path is out when it or any folder it lives in is excluded: a flat remote listing may
  // contain ".git/config" even though the scanner would never have descended into ".git".
  const excluded = (path: string): boolean =>
    isExcluded !== undefined && (isExcluded(path) || parentsOf(path).some((dir) => isExcluded(dir)));

  return (rawPath, type) => {
    const path = toNfc(rawPath);
    if (excluded(path)) return false;
    if (isIncluded === undefined) return true;
    // A file must match an include pattern itself; being inside a descended folder is not enough.
    if (type === "file") return isIncluded(path);
    return isIncluded(path) || includePatterns.some((p) => couldMatchBelow(path, p));
  };
}

/** A job's paths, described as data (a worker thread rebuilds the same filter from it). */
export interface JobPathFilterSpec {
  include: string[];
  exclude: string[];
  /** Job-relative paths that are never part of the tree (the done marker). */
  skip: string[];
  /** Job-relative folders that are never part of the tree, nor anything below them (the versions folder, afterTransfer's archive folder). */
  skipDirs?: string[];
  /** The agent's own files, never part of the tree either. */
  own?: OwnFilesSpec;
  /** A run scoped to the folders watch events named: only their paths (see makeScopeTest). */
  scope?: RunScope;
}

/** The folders a watch-triggered run looks at (job-relative, "/" separated; "" is the root). */
export interface RunScope {
  /** Their files and the folders' own entries; not what lies in their subfolders. */
  folders: string[];
  /** New folders: everything under them too. */
  deep: string[];
}

/**
 * Which paths a scoped run sees: the files directly in a named folder, everything under a deep
 * one, and the folders on the way to them (so that a scan and a listing reach them, and see
 * them on both sides). The state, the scan and the listing are all cut the same way, so that a
 * path outside the scope is neither new, nor gone, nor forgotten: the run leaves it alone.
 */
export function makeScopeTest(scope: RunScope): PathFilter {
  const named = new Set([...scope.folders, ...scope.deep]);
  const deep = scope.deep.map((d) => (d === "" ? "" : d + "/"));
  const onTheWay = new Set<string>();
  for (const f of named) for (let p = f; p !== ""; p = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "") onTheWay.add(p);
  const under = (path: string) => deep.some((d) => path.startsWith(d));
  const parentOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
  return (path, type) => under(path) || (type === "dir" ? onTheWay.has(path) : named.has(parentOf(path)));
}

export function makeJobPathFilter(spec: JobPathFilterSpec): PathFilter {
  const accept = makePathFilter(spec.include, spec.exclude);
  const isOwn = makeOwnPathTest(spec.own);
  const skipDirs = spec.skipDirs ?? [];
  const inScope = spec.scope ? makeScopeTest(spec.scope) : undefined;
  if (spec.skip.length === 0 && skipDirs.length === 0 && !isOwn && !inScope) return accept;
  const skip = new Set([...spec.skip, ...skipDirs]);
  const below = skipDirs.map((d) => d + "/");
  const skipped = (path: string) => skip.has(path) || (below.length > 0 && below.some((b) => path.startsWith(b)));
  return (path, type) => !skipped(path) && !isOwn?.(path) && (!inScope || inScope(path, type)) && accept(path, type);
}
