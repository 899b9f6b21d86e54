/** Polls `check` until it gives a truthy value (returned), or fails naming `what` after `withinMs`. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, withinMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > withinMs) throw new Error(`${what}: still not so after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
