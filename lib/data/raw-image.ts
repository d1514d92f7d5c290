// RawImage: a uint8 image as plain bytes (H, W, C interleaved, as sharp and PIL hold it), with the
// pixel-exact geometric helpers the transforms need (crop, flip, pad, channel conversion, CHW
// write-out). Torch-free, so the loader's worker threads can use it.

/** A uint8 image, rows of interleaved channels: byte (y·W + x)·C + c. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Checks the sizes agree and returns the image. */
export function rawImage(data: Uint8Array, width: number, height: number, channels: number): RawImage {
  if (!(data instanceof Uint8Array)) throw new TypeError('rawImage: data must be a Uint8Array');
  for (const [k, v] of Object.entries({ width, height, channels }))
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`rawImage: ${k} must be a positive integer, got ${v}`);
  if (data.length !== width * height * channels) throw new RangeError(`rawImage: ${data.length} bytes for ${height}×${width}×${channels}`);
  return { data, width, height, channels };
}

export function isRawImage(x: unknown): x is RawImage {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as RawImage).data instanceof Uint8Array &&
    typeof (x as RawImage).width === 'number' &&
    typeof (x as RawImage).height === 'number'
  );
}

/** The region [top, top+h) × [left, left+w) (must lie inside the image), copied. */
export function crop(img: RawImage, top: number, left: number, h: number, w: number): RawImage {
  const { data, width, height, channels: c } = img;
  if (top < 0 || left < 0 || top + h > height || left + w > width || h <= 0 || w <= 0)
    throw new RangeError(`crop (${top}, ${left}, ${h}, ${w}) outside a ${height}×${width} image`);
  if (top === 0 && left === 0 && h === height && w === width) return img;
  const out = new Uint8Array(h * w * c);
  const rowBytes = w * c;
  for (let y = 0; y < h; y++) {
    const src = ((top + y) * width + left) * c;
    out.set(data.subarray(src, src + rowBytes), y * rowBytes);
  }
  return { data: out, width: w, height: h, channels: c };
}

/** Mirror left ↔ right (torchvision's hflip). */
export function hflip(img: RawImage): RawImage {
  const { data, width: w, height: h, channels: c } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      const s = row + x * c,
        d = row + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) out[d + k] = data[s + k];
    }
  }
  return { data: out, width: w, height: h, channels: c };
}

/** Pads to outH × outW with `value`, the image placed at (top, left). */
export function pad(img: RawImage, top: number, left: number, outH: number, outW: number, value = 0): RawImage {
  const { data, width: w, height: h, channels: c } = img;
  if (top < 0 || left < 0 || top + h > outH || left + w > outW)
    throw new RangeError(`pad: a ${h}×${w} image does not fit ${outH}×${outW} at (${top}, ${left})`);
  const out = new Uint8Array(outH * outW * c);
  if (value !== 0) out.fill(value);
  for (let y = 0; y < h; y++) out.set(data.subarray(y * w * c, (y + 1) * w * c), ((top + y) * outW + left) * c);
  return { data: out, width: outW, height: outH, channels: c };
}

/**
 * Converts to 1 or 3 channels as PIL's convert('L') / convert('RGB') do: grey is replicated,
 * alpha is dropped, RGB → L is ITU-R 601-2 luma in PIL's fixed point.
 */
export function toChannels(img: RawImage, channels: 1 | 3): RawImage {
  const { data, width: w, height: h, channels: c } = img;
  if (c === channels) return img;
  const n = w * h;
  const out = new Uint8Array(n * channels);
  if (channels === 3) {
    if (c === 1 || c === 2)
      for (let i = 0; i < n; i++) {
        const v = data[i * c];
        out[3 * i] = v;
        out[3 * i + 1] = v;
        out[3 * i + 2] = v;
      }
    else if (c === 4)
      for (let i = 0; i < n; i++) {
        out[3 * i] = data[4 * i];
        out[3 * i + 1] = data[4 * i + 1];
        out[3 * i + 2] = data[4 * i + 2];
      }
    else throw new RangeError(`toChannels: cannot convert ${c} channels to 3`);
  } else {
    if (c === 2) for (let i = 0; i < n; i++) out[i] = data[2 * i];
    else if (c === 3 || c === 4) for (let i = 0; i < n; i++) out[i] = (data[i * c] * 19595 + data[i * c + 1] * 38470 + data[i * c + 2] * 7471 + 0x8000) >>> 16;
    else throw new RangeError(`toChannels: cannot convert ${c} channels to 1`);
  }
  return { data: out, width: w, height: h, channels };
}

/** Writes the image as (C, H, W) planes into `out` starting at `offset`. */
export function writeChw(img: RawImage, out: Uint8Array, offset: number): void {
  const { data, width: w, height: h, channels: c } = img;
  const plane = w * h;
  if (c === 1) {
    out.set(data, offset);
    return;
  }
  for (let k = 0; k < c; k++) {
    const base = offset + k * plane;
    for (let i = 0, s = k; i < plane; i++, s += c) out[base + i] = data[s];
  }
}
