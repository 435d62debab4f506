/**
 * kube's slowStartBatch: run `count` calls in batches of 1, 2, 4, ... (doubling from
 * `initial`), each batch concurrently, stopping after the first batch with a failure. A
 * template that cannot create pods (quota, invalid spec) thus fails after one call instead of
 * flooding the API server with `count` doomed requests.
 *
 * Contract: returns how many calls succeeded and the first error seen (if any); calls never
 * started are neither successes nor failures.
 */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: Error }> {
  let remaining = count;
  let successes = 0;
  let batch = Math.min(remaining, initial);
  while (batch > 0) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    let error: Error | undefined;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else error ??= r.reason instanceof Error ? r.reason : new Error(String(r.reason));
    }
    if (error) return { successes, error };
    remaining -= batch;
    batch = Math.min(2 * batch, remaining);
  }
  return { successes };
}
