/**
 * Worker thread for scanLocal({ parallel: true }): claims folders from the shared list one at a
 * time (the other thread does the same), walks them, and posts what it found, packed.
 */
import { parentPort, workerData } from "node:worker_threads";
import { makeWalker, packScan, walkFolders, type LocalScan, type PackedScan, type ScanWorkerInput } from "./scan.js";

const input = workerData as ScanWorkerInput;
const warnings: string[] = [];
const walker = makeWalker(input.realRoot, input.filter, input.followSymlinks, { warn: (m) => warnings.push(m) });
const next = new Int32Array(input.next);
const scan: LocalScan = { entries: new Map(), failedDirs: [] };
const chunks: PackedScan["chunks"] = [];
parentPort!.postMessage("ready");
for (let i = Atomics.add(next, 0, 1); i < input.folders.length; i = Atomics.add(next, 0, 1)) {
  const entries = scan.entries.size;
  const failed = scan.failedDirs.length;
  await walkFolders(walker, [input.folders[i]], scan);
  chunks.push({ index: i, entries: scan.entries.size - entries, failed: scan.failedDirs.length - failed });
}
const packed = packScan(scan, chunks, warnings);
parentPort!.postMessage(packed, [packed.dirs.buffer, packed.sizes.buffer, packed.mtimes.buffer]);
