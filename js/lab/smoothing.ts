/**
 * TensorBoard's scalar smoothing: an exponential moving average debiased like Adam's first moment,
 * so the first points are not pulled towards 0. Non-finite values pass through untouched, and a
 * constant series stays constant (TensorBoard does the same to avoid float drift). `weight` in [0, 1);
 * null (a NaN or ±inf the server could not send as JSON) becomes NaN.
 */
export function emaSmooth(values: ArrayLike<number | null>, weight: number): Float64Array {
  const out = Float64Array.from(values, v => v ?? NaN);
  const finite = out.filter(Number.isFinite);
  if (weight <= 0 || finite.every(v => v === finite[0])) {
    return out;
  }
  let last = 0;
  let count = 0;
  for (let i = 0; i < out.length; i++) {
    if (Number.isFinite(out[i])) {
      last = last * weight + (1 - weight) * out[i];
      count++;
      out[i] = last / (1 - weight ** count);
    }
  }
  return out;
}
