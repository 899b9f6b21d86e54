/**
 * Remembers answers for a while and shares work in progress.
 *
 * - Concurrent callers of one key share one in-flight load (always, even
 *   with caching off): a burst of events asking for the same secret sends
 *   one request.
 * - With ttlMs > 0 a successful answer is kept for ttlMs. A failure is never
 *   kept: the next call asks again.
 * - At most maxEntries answers are kept; expired ones go first, then the
 *   oldest, so a listener reading ever new names cannot grow it without bound.
 */
export class RequestCache<T> {
  private readonly answers = new Map<string, { value: T; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const kept = this.answers.get(key);
    if (kept && kept.expiresAt > Date.now()) return Promise.resolve(kept.value);
    if (kept) this.answers.delete(key);

    const pending = this.inFlight.get(key);
    if (pending) return pending;

    const loading = load().then(
      (value) => {
        this.inFlight.delete(key);
        if (this.ttlMs > 0) this.keep(key, value);
        return value;
      },
      (error: unknown) => {
        this.inFlight.delete(key);
        throw error;
      },
    );
    this.inFlight.set(key, loading);
    return loading;
  }

  /** Forgets every kept answer (in-flight loads finish and are kept as usual). */
  clear(): void {
    this.answers.clear();
  }

  private keep(key: string, value: T): void {
    this.answers.delete(key); // re-insert at the end: Map order is age order
    this.answers.set(key, { value, expiresAt: Date.now() + this.ttlMs });
    if (this.answers.size <= this.maxEntries) return;
    const now = Date.now();
    for (const [k, entry] of this.answers) if (entry.expiresAt <= now) this.answers.delete(k);
    for (const k of this.answers.keys()) {
      if (this.answers.size <= this.maxEntries) break;
      this.answers.delete(k);
    }
  }
}
