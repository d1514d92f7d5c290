// Telling checkpoint formats apart by their first bytes: PyTorch zip, safetensors, legacy
// (pre-1.6, non-zip) torch.save pickles and bare pickles.
import { CheckpointError } from './errors.js';
import type { ByteSource } from './source.js';

export type CheckpointFormat = 'torch-zip' | 'safetensors' | 'legacy-torch' | 'pickle' | 'unknown';

// The pickled magic number torch.save wrote before the zip format: PROTO 2, LONG1 0x1950a86a20f9469cfc6c.
const LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);

export function detectFormat(src: ByteSource): CheckpointFormat {
  const head = src.read(0, Math.min(src.size, 16), 'the file header');
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'torch-zip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0x06054b50) return 'torch-zip'; // empty archive
  if (head.length >= 10) {
    const n = head.readBigUInt64LE(0);
    if (n >= 2n && n <= BigInt(src.size - 8) && head[8] === 0x7b) return 'safetensors';
  }
  if (head.length >= LEGACY_MAGIC.length && head.subarray(0, LEGACY_MAGIC.length).equals(LEGACY_MAGIC)) return 'legacy-torch';
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) return 'pickle';
  return 'unknown';
}

/** The error for formats we recognise but do not read. */
export function unsupportedFormat(src: ByteSource, f: CheckpointFormat): CheckpointError {
  switch (f) {
    case 'legacy-torch':
      return new CheckpointError(
        src.name,
        'legacy (non-zip) torch.save format (PyTorch < 1.6 or _use_new_zipfile_serialization=False) is not supported; re-save it with torch.save in a recent PyTorch, or convert it to safetensors',
      );
    case 'pickle':
      return new CheckpointError(src.name, 'a bare pickle, not a torch.save checkpoint: not supported (torch.save files are zip archives)');
    default:
      return new CheckpointError(src.name, 'unknown format: not a PyTorch zip checkpoint, a safetensors file or a *.safetensors.index.json');
  }
}
