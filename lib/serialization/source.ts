// Random-access bytes of a checkpoint: a file read through a descriptor (files of any size, read
// piece by piece) or an in-memory Buffer. Reads outside the bytes fail with a "truncated" error.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CheckpointError } from './errors.js';

export interface ByteSource {
  /** File path, or a description of the buffer, for error messages. */
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset + length); a view (no copy) for buffers. */
  read(offset: number, length: number, what?: string): Buffer;
  close(): void;
}

function check(src: ByteSource, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > src.size)
    throw new CheckpointError(src.name, `truncated or corrupt: ${what} needs bytes [${offset}, ${offset + length}) but there are ${src.size}`);
}

export function bufferSource(buf: Uint8Array, name = '<buffer>'): ByteSource {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const src: ByteSource = {
    name,
    size: b.length,
    read(offset, length, what = 'a read') {
      check(src, offset, length, what);
      return b.subarray(offset, offset + length);
    },
    close() {},
  };
  return src;
}

export function fileSource(path: string): ByteSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CheckpointError(path, `cannot open: ${(e as Error).message}`);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new CheckpointError(path, 'not a regular file');
  }
  const size = st.size;
  const src: ByteSource = {
    name: path,
    size,
    read(offset, length, what = 'a read') {
      check(src, offset, length, what);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        let n: number;
        try {
          n = readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
        } catch (e) {
          throw new CheckpointError(path, `cannot read ${what}: ${(e as Error).message}`);
        }
        if (n === 0) throw new CheckpointError(path, `file shrank while reading ${what}`);
        done += n;
      }
      return out;
    },
    close() {
      if (fd >= 0) {
        closeSync(fd);
        fd = -1;
      }
    },
  };
  return src;
}

/** Opens a path or wraps a buffer, runs fn, closes. */
export function withSource<T>(input: string | Uint8Array, fn: (src: ByteSource) => T, name?: string): T {
  const src = typeof input === 'string' ? fileSource(input) : bufferSource(input, name);
  try {
    return fn(src);
  } finally {
    src.close();
  }
}
