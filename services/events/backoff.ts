/**
 * Exponential backoff with full jitter: a random delay in [base/2, min(max, base * 2^(attempt-1))].
 * Randomness spreads the retries of many clients so they do not hit a recovering dependency at
 * once; the lower bound keeps a retry from following its failure immediately.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const floor = Math.min(ceiling, baseMs / 2);
  return Math.round(floor + random() * (ceiling - floor));
}
