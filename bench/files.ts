// The benchmark's source files: trees of small files and large files of random bytes.
import { randomBytes } from "node:crypto";
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

/** `files` files of `bytes` bytes each (random content), spread evenly over `dirs` folders. */
export function makeTree(root: string, spec: { files: number; dirs: number; bytes: number }): void {
  mkdirSync(root, { recursive: true });
  const per = Math.ceil(spec.files / spec.dirs);
  const pool = randomBytes(spec.bytes + 4096);
  for (let d = 0; d < spec.dirs; d++) {
    const dir = join(root, `d${String(d).padStart(4, "0")}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < per && d * per + f < spec.files; f++) {
      const off = (d * per + f) % 4096;
      writeFileSync(join(dir, `f${String(f).padStart(5, "0")}.bin`), pool.subarray(off, off + spec.bytes));
    }
  }
}

/** A file of random bytes (written in 4 MiB blocks: the bench's own memory stays small). */
export function makeBigFile(path: string, bytes: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  const block = randomBytes(4 * 2 ** 20);
  for (let done = 0; done < bytes; ) {
    const n = Math.min(block.length, bytes - done);
    writeSync(fd, block, 0, n);
    block[(done / block.length) % block.length | 0] ^= 0xff; // blocks differ a little
    done += n;
  }
  closeSync(fd);
}

/** A sparse file: reads as zeros, costs no disk on the source side. */
export function makeSparseFile(path: string, bytes: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  ftruncateSync(fd, bytes);
  closeSync(fd);
}
