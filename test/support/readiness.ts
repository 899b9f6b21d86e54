import type { TestApp } from './app';

export interface Readiness {
  readonly status: number;
  readonly body: { status: string; failing?: string[] };
}

export async function readiness(app: Pick<TestApp, 'url'>): Promise<Readiness> {
  const response = await fetch(`${app.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness['body'] };
}

/**
 * Polls /readyz until it answers 200, and resolves with that answer (the
 * last one if `withinMs` ran out). After a database outage the pool is
 * back at once, the listening connection after its reconnect backoff.
 */
export async function untilReady(app: Pick<TestApp, 'url'>, withinMs = 15_000): Promise<Readiness> {
  const started = Date.now();
  for (;;) {
    const answer = await readiness(app);
    if (answer.status === 200 || Date.now() - started > withinMs) return answer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What /readyz lists while the database is away: the database, and the listening connection if it noticed already. */
export function failingBesidesEvents(answer: Readiness): string[] | undefined {
  return answer.body.failing?.filter((name) => name !== 'events');
}
