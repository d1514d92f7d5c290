// Python's round() for numbers: halves go to the even neighbour. Several upstream computations
// (timestep respacing, ADM crop sizes, TenCrop offsets) depend on it.
export function roundHalfEven(v: number): number {
  const f = Math.floor(v),
    d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}
