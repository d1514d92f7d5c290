// A 5×7 bitmap font, so image grids can carry labels without system fonts (fresh machines have none).
// Each glyph is 7 rows of 5 bits (MSB = leftmost column). Lower case is drawn as upper case.
const G: Record<string, number[]> = {
  ' ': [0, 0, 0, 0, 0, 0, 0],
  '0': [14, 17, 19, 21, 25, 17, 14],
  '1': [4, 12, 4, 4, 4, 4, 14],
  '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2],
  '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14],
  '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  A: [14, 17, 17, 31, 17, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [28, 18, 17, 17, 17, 18, 28],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 10, 4, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
  '=': [0, 0, 31, 0, 31, 0, 0],
  '.': [0, 0, 0, 0, 0, 12, 12],
  ':': [0, 12, 12, 0, 12, 12, 0],
  '-': [0, 0, 0, 31, 0, 0, 0],
  '/': [1, 1, 2, 4, 8, 16, 16],
  '(': [2, 4, 8, 8, 8, 4, 2],
  ')': [8, 4, 2, 2, 2, 4, 8],
  ',': [0, 0, 0, 0, 12, 4, 8],
  '+': [0, 4, 4, 31, 4, 4, 0],
  _: [0, 0, 0, 0, 0, 0, 31],
  '%': [24, 25, 2, 4, 8, 19, 3],
};

export const GLYPH_W = 5,
  GLYPH_H = 7;

/** Renders text into a 0/1 mask (H = 7·scale, W = 6·scale·len), one column of space between glyphs. */
export function renderText(text: string, scale = 1): { mask: Uint8Array; width: number; height: number } {
  const chars = [...text.toUpperCase()];
  const width = chars.length * (GLYPH_W + 1) * scale,
    height = GLYPH_H * scale;
  const mask = new Uint8Array(width * height);
  chars.forEach((ch, i) => {
    const rows = G[ch] ?? G['?'] ?? G[' '];
    for (let r = 0; r < GLYPH_H; r++)
      for (let c = 0; c < GLYPH_W; c++)
        if ((rows[r] >> (GLYPH_W - 1 - c)) & 1)
          for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) mask[(r * scale + dy) * width + i * (GLYPH_W + 1) * scale + c * scale + dx] = 1;
  });
  return { mask, width, height };
}
