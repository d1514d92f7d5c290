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
