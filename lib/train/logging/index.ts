// Training logs: TensorBoard event files, JSONL, a DeiT/MAE-style MetricLogger, a progress line, and the RunLogger facade.
export { RunLogger, type RunLoggerOptions, type StepScalars, type LogValue } from './run-logger.js';
export { EventWriter, type EventWriterOptions } from './event-writer.js';
export { JsonlLogger, readJsonl, type JsonlLoggerOptions } from './jsonl.js';
export { MetricLogger, SmoothedValue, formatNumber } from './metric-logger.js';
export {
  ProgressLine,
  RateMeter,
  formatProgress,
  formatDuration,
  formatRate,
  type ProgressLineOptions,
  type ProgressInfo,
  type ProgressStream,
} from './progress.js';
export { encodePng, type EncodedPng } from './png.js';
export { encodeEvent, FILE_VERSION, SessionStatus, type EventFields, type SummaryValue, type SummaryImage } from './event.js';
export { tfrecord } from './tfrecord.js';
export { crc32c, maskCrc, maskedCrc32c } from './crc32c.js';
