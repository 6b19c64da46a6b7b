/**
 * Go's `fmt` verbs where their output differs from JavaScript's.
 * Layer rule (see README.md): core/go imports nothing from other src/core folders.
 */

/** `fmt.Sprintf("%f", x)`: six decimals; `NaN`, `+Inf`, `-Inf` as Go prints them. */
export function fmtF(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return x.toFixed(6);
}
