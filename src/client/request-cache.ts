/**
 * A promise, taken when a load starts, that the answer stays right for as
 * long as `valid()` says so: live mode's subscription hands one out once it
 * is sure to hear of every later change (live-feed.ts).
 */
export interface Lease {
  valid(): boolean;
}

/** What a caller tells the cache about one key: the groups it belongs to (for drop()), and a lease to take when its load starts. */
export interface CacheTags {
  readonly groups: readonly string[];
  readonly lease?: () => Lease | undefined;
}

interface Answer<T> {
  readonly value: T;
  readonly expiresAt: number;
  readonly lease?: Lease;
  readonly groups: readonly string[];
}

interface Load<T> {
  promise?: Promise<T>;
  readonly groups: readonly string[];
  /** Dropped while in flight: its answer is handed to its callers but not kept. */
  dropped: boolean;
}

const NO_GROUPS: readonly string[] = [];

/**
 * Remembers answers for a while and shares work in progress.
 *
 * - Concurrent callers of one key share one in-flight load (always, even
 *   with caching off): a burst of events asking for the same secret sends
 *   one request.
 * - A successful answer is kept for ttlMs (when ttlMs > 0), and beyond that
 *   for as long as the lease taken when its load started holds. A failure
 *   is never kept: the next call asks again.
 * - drop(groups) forgets the answers of those groups at once, and makes
 *   their in-flight loads' answers unkept: the load may have read the old
 *   value, and the next caller starts a fresh one.
 * - At most maxEntries answers are kept; expired ones go first, then the
 *   oldest, so a listener reading ever new names cannot grow it without bound.
 */
export class RequestCache<T> {
  private readonly answers = new Map<string, Answer<T>>();
  private readonly inFlight = new Map<string, Load<T>>();
  /** group → the keys with an answer or a load in flight. */
  private readonly members = new Map<string, Set<string>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
  ) {}

  get(key: string, load: () => Promise<T>, tags?: CacheTags): Promise<T> {
    const kept = this.answers.get(key);
    if (kept && this.fresh(kept, Date.now())) return Promise.resolve(kept.value);
    if (kept) this.forget(key);

    const pending = this.inFlight.get(key);
    if (pending?.promise) return pending.promise;

    const groups = tags?.groups ?? NO_GROUPS;
    const lease = tags?.lease?.();
    const record: Load<T> = { groups, dropped: false };
    record.promise = load().then(
      (value) => {
        this.settle(key, record);
        if (!record.dropped && (this.ttlMs > 0 || lease)) this.keep(key, { value, expiresAt: Date.now() + this.ttlMs, lease, groups });
        return value;
      },
      (error: unknown) => {
        this.settle(key, record);
        throw error;
      },
    );
    this.inFlight.set(key, record);
    this.index(key, groups);
    return record.promise;
  }

  /** Forgets the answers in any of these groups, and keeps none from their loads in flight. */
  drop(groups: readonly string[]): void {
    for (const group of groups) {
      const keys = this.members.get(group);
      if (!keys) continue;
      for (const key of [...keys]) {
        const load = this.inFlight.get(key);
        const answer = this.answers.get(key);
        if (load) load.dropped = true;
        this.inFlight.delete(key);
        this.answers.delete(key);
        this.unindex(key, answer?.groups ?? load?.groups ?? [group]);
      }
    }
  }

  /** Forgets every kept answer (in-flight loads finish and are kept as usual). */
  clear(): void {
    for (const key of [...this.answers.keys()]) this.forget(key);
  }

  private fresh(answer: Answer<T>, now: number): boolean {
    return answer.expiresAt > now || (answer.lease?.valid() ?? false);
  }

  private keep(key: string, answer: Answer<T>): void {
    this.answers.delete(key); // re-insert at the end: Map order is age order
    this.answers.set(key, answer);
    this.index(key, answer.groups);
    if (this.answers.size <= this.maxEntries) return;
    const now = Date.now();
    for (const [k, entry] of this.answers) if (!this.fresh(entry, now)) this.forget(k);
    for (const k of this.answers.keys()) {
      if (this.answers.size <= this.maxEntries) break;
      this.forget(k);
    }
  }

  private settle(key: string, load: Load<T>): void {
    if (this.inFlight.get(key) === load) this.inFlight.delete(key);
    this.unindex(key, load.groups);
  }

  private forget(key: string): void {
    const answer = this.answers.get(key);
    if (!answer) return;
    this.answers.delete(key);
    this.unindex(key, answer.groups);
  }

  private index(key: string, groups: readonly string[]): void {
    for (const group of groups) {
      let keys = this.members.get(group);
      if (!keys) this.members.set(group, (keys = new Set()));
      keys.add(key);
    }
  }

  /* A key stays in its groups while it has an answer or a load in flight. */
  private unindex(key: string, groups: readonly string[]): void {
    if (this.answers.has(key) || this.inFlight.has(key)) return;
    for (const group of groups) {
      const keys = this.members.get(group);
      if (!keys) continue;
      keys.delete(key);
      if (!keys.size) this.members.delete(group);
    }
  }
}
