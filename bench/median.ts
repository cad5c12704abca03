/**
 * The median of `values` (the mean of the middle two for an even count). A module of its own, without imports, so
 * that the call-phase preload can use it inside the process under test without loading the load generator.
 */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
