// TorchError: every libtorch error reaches JS as one of these, with libtorch's message and the op.
export class TorchError extends Error {
  /** The operator or native function that failed, e.g. 'aten::mm'. */
  readonly op: string;
  constructor(message: string, op: string) {
    super(`${op}: ${message}`);
    this.name = 'TorchError';
    this.op = op;
  }
}

/**
 * Out of memory, CUDA's or the host's (torch.OutOfMemoryError, also torch.cuda.OutOfMemoryError):
 * a TorchError a caller can catch to retry smaller. For CUDA the message carries the caching
 * allocator's figures at the failure and each device's allocated/reserved bytes after it.
 */
export class OutOfMemoryError extends TorchError {
  constructor(message: string, op: string) {
    super(message, op);
    this.name = 'OutOfMemoryError';
  }
}
