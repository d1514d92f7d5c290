// TensorFlow's Event / Summary protobuf messages (tensorflow/core/util/event.proto, framework/summary.proto), encoded by hand.
import { ProtoWriter } from './protobuf.js';

/** The file_version string of the first event of every events file. */
export const FILE_VERSION = 'brain.Event:2';

/** Summary.Image: an encoded (PNG) image. colorspace: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
export interface SummaryImage {
  height: number;
  width: number;
  colorspace: number;
  encoded: Uint8Array;
}

/** One Summary.Value: a tag with either a float (simple_value) or an image. */
export type SummaryValue = { tag: string; simpleValue: number } | { tag: string; image: SummaryImage };

/** SessionLog.SessionStatus. */
export const SessionStatus = { START: 1, STOP: 2, CHECKPOINT: 3 } as const;

/** The fields of Event that this writer uses; exactly one of fileVersion / summary / sessionLog. */
export interface EventFields {
  /** Seconds since the epoch (field 1, double). */
  wallTime: number;
  /** Global step (field 2, int64); 0 is omitted, as proto3 does. */
  step?: number | bigint;
  /** field 3. */
  fileVersion?: string;
  /** field 5: Summary { repeated Value value = 1 }. */
  summary?: SummaryValue[];
  /** field 7: SessionLog { status = 1 } (START makes TensorBoard drop data at steps ≥ this event's step). */
  sessionLog?: { status: number };
}

function encodeImage(img: SummaryImage): Buffer {
  const w = new ProtoWriter();
  if (img.height) w.int64(1, img.height);
  if (img.width) w.int64(2, img.width);
  if (img.colorspace) w.int64(3, img.colorspace);
  w.bytes(4, img.encoded);
  return w.finish();
}

function encodeValue(v: SummaryValue): Buffer {
  const w = new ProtoWriter();
  w.string(1, v.tag);
  // members of a oneof are written even when they hold the default value (0.0 must not vanish)
  if ('simpleValue' in v) w.float(2, v.simpleValue);
  else w.bytes(4, encodeImage(v.image));
  return w.finish();
}

/** Serialises an Event message. */
export function encodeEvent(e: EventFields): Buffer {
  const set = [e.fileVersion !== undefined, e.summary !== undefined, e.sessionLog !== undefined].filter(Boolean).length;
  if (set !== 1) throw new Error('an Event holds exactly one of fileVersion, summary, sessionLog');
  const w = new ProtoWriter();
  w.double(1, e.wallTime);
  if (e.step !== undefined && e.step !== 0 && e.step !== 0n) w.int64(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.summary !== undefined) {
    const s = new ProtoWriter();
    for (const v of e.summary) s.bytes(1, encodeValue(v));
    w.bytes(5, s.finish());
  }
  if (e.sessionLog !== undefined) {
    const s = new ProtoWriter();
    if (e.sessionLog.status) s.int64(1, e.sessionLog.status);
    w.bytes(7, s.finish());
  }
  return w.finish();
}
