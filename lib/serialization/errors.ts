// The error thrown by the checkpoint readers and writers. Its message names the file (or buffer),
// the key or entry when there is one, and what was wrong.
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${key !== undefined ? ` [${JSON.stringify(key)}]` : ''}: ${detail}`, options);
  }
}

/** Runs fn; any error that is not already a CheckpointError becomes one (with the original as cause). */
export function wrapErrors<T>(file: string, what: string, fn: () => T, key?: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(file, `${what}: ${e instanceof Error ? e.message : String(e)}`, key, { cause: e });
  }
}
