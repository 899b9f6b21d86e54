/**
 * Runs `work` over `items` with at most `limit` in flight. The first failure
 * stops new work from starting; work already started finishes (each item is
 * its own transaction, so nothing is left half-done), then the failure is
 * rethrown.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  /* Precondition: at least one worker, or nothing would ever run. */
  if (!Number.isInteger(limit) || limit < 1) throw new Error('concurrency must be a positive integer');
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
