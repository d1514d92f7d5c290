// Atomic file writes: the bytes go to a temporary file in the target's folder, are fsynced, and
// the file is renamed over the target, so readers see the old file or the complete new one.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Writes `data` (one buffer, or chunks produced one at a time) to `path` atomically. */
export function writeFileAtomic(path: string, data: Uint8Array | Iterable<Uint8Array>): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx');
  let closed = false;
  try {
    for (const chunk of data instanceof Uint8Array ? [data] : data) writeAll(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(tmp, path);
  } catch (e) {
    if (!closed)
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    try {
      unlinkSync(tmp);
    } catch {
      /* already failing */
    }
    throw e;
  }
  syncDir(dir);
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.byteLength) off += writeSync(fd, chunk, off, Math.min(chunk.byteLength - off, 1 << 30));
}

/** Makes the rename durable; not every platform or file system allows fsync of a folder. */
function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* best effort */
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
