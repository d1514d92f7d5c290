// JSON-lines metrics log: one object per line ({step, epoch, time, ...scalars}), written at once, rank 0 only.
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JsonlLoggerOptions {
  /** Only rank 0 writes; other ranks' loggers do nothing and create no file (default 0). */
  rank?: number;
  /** fsync after every line (survives power loss, not only a crash; default false). */
  fsync?: boolean;
}

/** Non-finite numbers become null (JSON has no NaN/Infinity): a key present with null means NaN or ±Inf. */
function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

/**
 * Appends one JSON object per line to `path`. Each line goes to the OS in one write as it is logged,
 * so a crash loses at most a line being written. Reopening the file (a resumed run) appends; a torn
 * last line from a crash is terminated first so it cannot swallow the next record.
 */
export class JsonlLogger {
  readonly path: string;
  readonly active: boolean;
  private fd: number | null = null;
  private readonly fsync: boolean;

  constructor(path: string, opts: JsonlLoggerOptions = {}) {
    this.path = path;
    this.active = (opts.rank ?? 0) === 0;
    this.fsync = !!opts.fsync;
    if (!this.active) return;
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a+');
    const size = fstatSync(this.fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(this.fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) writeSync(this.fd, '\n');
    }
  }

  /** Writes `{step, epoch?, time, ...values}` (time: unix seconds). */
  log(step: number, values: Record<string, number | string | boolean | null>, epoch?: number): void {
    if (this.fd === null) {
      if (this.active) throw new Error(`JsonlLogger(${this.path}) is closed`);
      return;
    }
    const rec: Record<string, unknown> = { step };
    if (epoch !== undefined) rec.epoch = epoch;
    rec.time = Date.now() / 1000;
    for (const [k, v] of Object.entries(values)) if (!(k in rec)) rec[k] = v;
    this.writeLine(JSON.stringify(rec, replacer));
  }

  /** Writes any JSON-serialisable object as one line. */
  write(obj: object): void {
    if (this.fd === null) {
      if (this.active) throw new Error(`JsonlLogger(${this.path}) is closed`);
      return;
    }
    this.writeLine(JSON.stringify(obj, replacer));
  }

  private writeLine(line: string): void {
    const buf = Buffer.from(line + '\n', 'utf8');
    for (let off = 0; off < buf.length; ) off += writeSync(this.fd!, buf, off, buf.length - off);
    if (this.fsync) fsyncSync(this.fd!);
  }

  close(): void {
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/** Reads a JSONL file back, skipping blank lines and torn (unparsable) lines that a crash left. */
export function readJsonl(path: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of readFileSync(path, 'utf8').split('\n')) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* torn line */
    }
  }
  return out;
}
