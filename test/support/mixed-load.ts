import { ADMIN_TOKEN } from './app';

/*
 * A mixed load over HTTP against one or more server URLs, for the fault
 * suites (pooler, PostgreSQL outages, crashes, many instances, soak). Each
 * worker owns a few secrets (environment- and space-level) that only it
 * writes, alternating GraphQL upserts with check-and-set writes over GraphQL
 * and REST, reads them back (GraphQL one name, REST the space's list), and
 * takes part in check-and-set increments of one shared HOT secret.
 *
 * It records every acknowledged write and every write whose outcome is
 * unknown (no answer, or an error after the request was sent), so that
 * verifyLoad() can prove afterwards that no acknowledged write was lost
 * and that nothing appeared that was never sent. Tests decide which
 * failures are allowed (e.g. 503 during an outage) by looking at
 * report.failures.
 */

export interface LoadFixture {
  readonly environmentId: string;
  readonly spaceId: string;
  /** A LISTENER token bound to the environment: reads values of the environment and all its spaces. */
  readonly listenerToken: string;
  readonly adminToken: string;
}

export interface Failure {
  /** Date.now() when the answer (or its absence) arrived. */
  readonly at: number;
  readonly target: string;
  readonly op: string;
  /** 0: no HTTP answer at all (refused, reset, timed out). */
  readonly status: number;
  readonly code?: string;
  readonly message: string;
}

interface Written {
  readonly version: number;
  readonly value: string;
}

export interface KeyState {
  readonly name: string;
  readonly spaceLevel: boolean;
  /** The last write known to be committed: acknowledged, or seen by a read. */
  known?: Written;
  /** Values sent since then whose outcome is unknown: any of them may have been committed. */
  readonly unknown: Set<string>;
}

export interface LoadReport {
  requests: number;
  succeeded: number;
  readonly perTarget: Map<string, { requests: number; succeeded: number; lastSuccessAt: number }>;
  readonly failures: Failure[];
  /** Reads that returned a value never sent for that name, or older than a write acknowledged before the read began. */
  readonly anomalies: string[];
  readonly keys: Map<string, KeyState>;
  /** The HOT secret's version when the load began. */
  hotStart?: number;
  /** Versions of the HOT secret acknowledged to check-and-set writers. */
  readonly hotWins: number[];
  /** HOT check-and-set writes with no clear answer. */
  hotUnknown: number;
  /** Acknowledged writes, in all. */
  acknowledgedWrites: number;
}

export interface LoadOptions {
  readonly targets: readonly string[];
  readonly workers: number;
  readonly fixture: LoadFixture;
  /** The load runs until this settles, or until this Date.now() deadline. */
  readonly until: Promise<unknown> | number;
  readonly keysPerWorker?: number;
  /** Pause after a failed request, so an outage is not a busy loop. */
  readonly backoffMs?: number;
  /** Per-request limit: a request that hangs longer is a failure (status 0). */
  readonly timeoutMs?: number;
  /** Worker names start with this, so several loads can share an environment. */
  readonly prefix?: string;
  readonly report?: LoadReport;
}

interface Answer {
  readonly status: number;
  readonly body: any;
  readonly error?: string;
}

const HOT = 'HOT';

async function call(url: string, path: string, token: string, body?: unknown, timeoutMs = 15_000): Promise<Answer> {
  try {
    const response = await fetch(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { unparsable: text.slice(0, 200) };
    }
    return { status: response.status, body: parsed };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: 0, body: undefined, error: cause ?? (error as Error).name };
  }
}

const gql = (url: string, token: string, query: string, variables: Record<string, unknown>, timeoutMs?: number) =>
  call(url, '/graphql', token, { query, variables }, timeoutMs);

/** The error code of an answer (GraphQL's extensions.code or REST's code), if it carries one. */
export function codeOf(answer: Answer): string | undefined {
  const error = answer.body?.errors?.[0];
  return error?.extensions?.code ?? error?.code;
}

export function newLoadReport(): LoadReport {
  return {
    requests: 0,
    succeeded: 0,
    perTarget: new Map(),
    failures: [],
    anomalies: [],
    keys: new Map(),
    hotWins: [],
    hotUnknown: 0,
    acknowledgedWrites: 0,
  };
}

/** Creates what the load needs through the API: an environment, a space, the HOT secret at version 1, a listener token. */
export async function prepareLoadFixture(url: string, name = 'load', adminToken = ADMIN_TOKEN): Promise<LoadFixture> {
  const must = async (query: string, variables: Record<string, unknown> = {}) => {
    const answer = await gql(url, adminToken, query, variables);
    if (answer.status !== 200 || answer.body.errors) throw new Error(`setup failed: ${JSON.stringify(answer.body)}`);
    return answer.body.data;
  };
  const environmentId = (await must(`mutation($n: String!) { createEnvironment(input: { name: $n }) { id } }`, { n: name }))
    .createEnvironment.id;
  const spaceId = (
    await must(`mutation($e: ID!) { createSpace(input: { environmentId: $e, name: "space" }) { id } }`, { e: environmentId })
  ).createSpace.id;
  await must(`mutation($e: ID!) { upsertSecret(input: { environmentId: $e, name: "${HOT}", value: "${HOT}:init" }) { id } }`, {
    e: environmentId,
  });
  const listenerToken = (
    await must(`mutation($e: ID!) { createApiToken(input: { name: "load listener", role: LISTENER, environmentId: $e }) { token } }`, {
      e: environmentId,
    })
  ).createApiToken.token;
  return { environmentId, spaceId, listenerToken, adminToken };
}

const keyOf = (name: string, spaceLevel: boolean) => `${name}@${spaceLevel ? 'space' : 'env'}`;

async function worker(id: number, options: LoadOptions, report: LoadReport, running: () => boolean): Promise<void> {
  const { fixture } = options;
  const target = options.targets[id % options.targets.length];
  const prefix = options.prefix ?? 'W';
  const keys = Array.from({ length: options.keysPerWorker ?? 3 }, (_, i) => {
    const spaceLevel = i % 2 === 1;
    const name = `${prefix}${id}_${spaceLevel ? 'S' : 'E'}${i}`;
    // a report carried over from an earlier run (e.g. before a crash) keeps what it knew
    const state: KeyState = report.keys.get(keyOf(name, spaceLevel)) ?? { name, spaceLevel, unknown: new Set() };
    report.keys.set(keyOf(name, spaceLevel), state);
    return state;
  });
  const run = Math.random().toString(36).slice(2, 8); // values stay unique across runs
  const stats = report.perTarget.get(target) ?? { requests: 0, succeeded: 0, lastSuccessAt: 0 };
  report.perTarget.set(target, stats);
  let seq = 0;

  /** Counts an answer; true when it is a success, or one of the domain answers the caller expects. */
  const settle = (op: string, answer: Answer, expected: string[] = []): boolean => {
    report.requests += 1;
    stats.requests += 1;
    const code = codeOf(answer);
    if (answer.status === 200 && !code) {
      report.succeeded += 1;
      stats.succeeded += 1;
      stats.lastSuccessAt = Date.now();
      return true;
    }
    if (code && expected.includes(code) && answer.status < 500) return true;
    report.failures.push({
      at: Date.now(),
      target,
      op,
      status: answer.status,
      code,
      message: answer.error ?? String(answer.body?.errors?.[0]?.message ?? JSON.stringify(answer.body)).slice(0, 200),
    });
    return false;
  };
  const backoff = () => new Promise((r) => setTimeout(r, options.backoffMs ?? 25));
  const scopeOf = (key: KeyState) => ({ environmentId: fixture.environmentId, spaceId: key.spaceLevel ? fixture.spaceId : null });

  /** What a read saw of an own key: checked against what was sent, and adopted as known (it is committed). */
  const observe = (key: KeyState, seen: Written | undefined, knownBefore: Written | undefined, op: string) => {
    if (!seen) {
      if (knownBefore) report.anomalies.push(`${op}: ${key.name} is missing after version ${knownBefore.version} was acknowledged`);
      return;
    }
    const sent = seen.value === key.known?.value || key.unknown.has(seen.value);
    if (!seen.value.startsWith(`${key.name}:`)) report.anomalies.push(`${op}: ${key.name} read a value of another name`);
    else if (knownBefore && seen.version < knownBefore.version) {
      report.anomalies.push(`${op}: ${key.name} read version ${seen.version} after version ${knownBefore.version} was acknowledged`);
    } else if (!sent && !(knownBefore && seen.version === knownBefore.version && seen.value === knownBefore.value)) {
      report.anomalies.push(`${op}: ${key.name} read a value that was never sent`);
    } else if (!key.known || seen.version > key.known.version) {
      key.known = seen;
      key.unknown.clear();
    }
  };

  const readOne = async (key: KeyState): Promise<boolean> => {
    const knownBefore = key.known;
    const answer = await gql(
      target,
      fixture.listenerToken,
      `query($n: String!, $e: ID, $s: ID) { secret(name: $n, environmentId: $e, spaceId: $s) { value source secret { version } } }`,
      { n: key.name, e: fixture.environmentId, s: key.spaceLevel ? fixture.spaceId : null },
      options.timeoutMs,
    );
    if (!settle('graphql read', answer, ['SECRET_NOT_FOUND'])) return false;
    const secret = answer.body.data?.secret;
    if (secret && key.spaceLevel && secret.source !== 'SPACE') report.anomalies.push(`${key.name} resolved from the environment`);
    observe(key, secret ? { version: secret.secret.version, value: secret.value } : undefined, knownBefore, 'graphql read');
    return true;
  };

  const readList = async () => {
    const before = new Map(keys.map((k) => [k, k.known]));
    const answer = await call(
      target,
      `/v1/secrets?environmentId=${fixture.environmentId}&spaceId=${fixture.spaceId}`,
      fixture.listenerToken,
      undefined,
      options.timeoutMs,
    );
    if (!settle('rest list', answer)) return;
    const listed = new Map<string, { value: string; version: number; spaceId: string | null }>();
    for (const s of answer.body.data as { name: string; value: string; version: number; spaceId: string | null }[]) {
      if (!s.value.startsWith(`${s.name}:`)) report.anomalies.push(`rest list: ${s.name} has a value of another name`);
      listed.set(s.name, s);
    }
    for (const key of keys) {
      const s = listed.get(key.name);
      if (s && (s.spaceId !== null) !== key.spaceLevel) report.anomalies.push(`rest list: ${key.name} at the wrong scope`);
      observe(key, s ? { version: s.version, value: s.value } : undefined, before.get(key), 'rest list');
    }
  };

  const write = async (key: KeyState) => {
    if (key.unknown.size > 0 && !(await readOne(key))) return; // learn what landed before a check-and-set
    const value = `${key.name}:${id}:${run}.${++seq}`;
    const expectedVersion = key.known?.version ?? 0;
    const style = seq % 3; // 0: unconditional GraphQL, 1: check-and-set GraphQL, 2: check-and-set REST
    key.unknown.add(value);
    let answer: Answer;
    if (style === 2) {
      answer = await call(
        target,
        '/v1/secrets',
        fixture.adminToken,
        { ...scopeOf(key), name: key.name, value, expectedVersion },
        options.timeoutMs,
      );
    } else {
      answer = await gql(
        target,
        fixture.adminToken,
        `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { version } }`,
        { i: { ...scopeOf(key), name: key.name, value, ...(style === 1 ? { expectedVersion } : {}) } },
        options.timeoutMs,
      );
    }
    const op = ['graphql upsert', 'graphql check-and-set', 'rest check-and-set'][style];
    if (!settle(op, answer, ['VERSION_CONFLICT'])) return;
    if (codeOf(answer) === 'VERSION_CONFLICT') {
      key.unknown.delete(value); // refused, so not written
      if (key.unknown.size === 0) report.anomalies.push(`${op}: ${key.name} conflicted although only this worker writes it`);
      return;
    }
    const version: number = style === 2 ? answer.body.data[0].version : answer.body.data.upsertSecret.version;
    if (key.known && version <= key.known.version) report.anomalies.push(`${op}: ${key.name} acknowledged an old version`);
    key.known = { version, value };
    key.unknown.clear();
    report.acknowledgedWrites += 1;
  };

  const incrementHot = async () => {
    const current = await gql(
      target,
      fixture.adminToken,
      `query($e: ID) { secret(name: "${HOT}", environmentId: $e) { secret { version } } }`,
      { e: fixture.environmentId },
      options.timeoutMs,
    );
    if (!settle('hot read', current)) return;
    const version: number = current.body.data.secret.secret.version;
    const answer = await gql(
      target,
      fixture.adminToken,
      `mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { version } }`,
      { i: { environmentId: fixture.environmentId, name: HOT, value: `${HOT}:${id}:${version + 1}`, expectedVersion: version } },
      options.timeoutMs,
    );
    if (!settle('hot check-and-set', answer, ['VERSION_CONFLICT'])) {
      report.hotUnknown += 1;
      return;
    }
    if (!codeOf(answer)) {
      report.hotWins.push(answer.body.data.upsertSecret.version);
      report.acknowledgedWrites += 1;
    }
  };

  while (running()) {
    const failuresBefore = report.failures.length;
    const key = keys[Math.floor(Math.random() * keys.length)];
    const roll = Math.random();
    if (roll < 0.25) await readOne(key);
    else if (roll < 0.4) await readList();
    else if (roll < 0.8) await write(key);
    else await incrementHot();
    if (report.failures.length > failuresBefore) await backoff();
  }
}

/** Runs the load until `until`; resolves with the report (the same object as options.report, if given). */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const report = options.report ?? newLoadReport();
  if (report.hotStart === undefined) {
    const { fixture } = options;
    const hot = await gql(options.targets[0], fixture.adminToken, `query($e: ID) { secret(name: "${HOT}", environmentId: $e) { secret { version } } }`, {
      e: fixture.environmentId,
    });
    report.hotStart = hot.body?.data?.secret?.secret?.version;
    if (report.hotStart === undefined) throw new Error(`could not read ${HOT} before the load: ${JSON.stringify(hot.body)}`);
  }
  let active = true;
  const running =
    typeof options.until === 'number'
      ? () => active && Date.now() < (options.until as number)
      : () => active;
  const stopped = typeof options.until === 'number' ? Promise.resolve() : options.until.finally(() => (active = false));
  await Promise.all([...Array.from({ length: options.workers }, (_, id) => worker(id, options, report, running)), stopped]);
  return report;
}

/**
 * Reads every secret of the fixture through a LISTENER and checks the
 * report against it: each acknowledged write is there at its version, or
 * was followed by a write whose outcome was unknown and which landed;
 * nothing is there that was never sent; every value decrypts; the HOT
 * secret lost no check-and-set. Returns the problems (empty: all good).
 */
export async function verifyLoad(url: string, fixture: LoadFixture, report: LoadReport): Promise<string[]> {
  const answer = await gql(
    url,
    fixture.listenerToken,
    `query($e: ID!, $s: ID!) { environment(id: $e) { secrets { name version value } } space(id: $s) { secrets { name version value } } }`,
    { e: fixture.environmentId, s: fixture.spaceId },
  );
  if (answer.status !== 200 || answer.body.errors) return [`reading everything back failed: ${JSON.stringify(answer.body).slice(0, 500)}`];
  const stored = new Map<string, Written>();
  for (const s of answer.body.data.environment.secrets) stored.set(keyOf(s.name, false), s);
  for (const s of answer.body.data.space.secrets) stored.set(keyOf(s.name, true), s);

  const problems: string[] = [...report.anomalies];
  for (const [key, state] of report.keys) {
    const now = stored.get(key);
    const show = (w: Written | undefined) => (w ? `v${w.version} ${w.value}` : 'absent');
    if (state.unknown.size === 0) {
      if (now?.version !== state.known?.version || now?.value !== state.known?.value) {
        problems.push(`${key}: stored ${show(now)}, acknowledged ${show(state.known)}`);
      }
    } else if (!(now?.version === state.known?.version && now?.value === state.known?.value)) {
      const landed = now && state.unknown.has(now.value) && now.version > (state.known?.version ?? 0);
      if (!landed) problems.push(`${key}: stored ${show(now)}, acknowledged ${show(state.known)}, unknown ${[...state.unknown].join(' ')}`);
    }
  }
  const hot = stored.get(keyOf(HOT, false));
  const wins = [...report.hotWins].sort((a, b) => a - b);
  const duplicates = wins.filter((v, i) => i > 0 && wins[i - 1] === v);
  if (duplicates.length) problems.push(`HOT: versions acknowledged twice (lost updates): ${duplicates.join(', ')}`);
  const low = (report.hotStart ?? 1) + wins.length;
  const high = low + report.hotUnknown;
  if (!hot || hot.version < low || hot.version > high) {
    problems.push(`HOT: version ${hot?.version}, expected ${low === high ? low : `${low}..${high}`} after ${wins.length} acknowledged increments`);
  }
  return problems;
}

/** Failures grouped as "status code op" → count, for readable assertions and messages. */
export function summarize(failures: readonly Failure[]): Record<string, number> {
  const summary: Record<string, number> = {};
  for (const f of failures) {
    const key = `${f.status} ${f.code ?? f.message}`;
    summary[key] = (summary[key] ?? 0) + 1;
  }
  return summary;
}

/** A stretch of time in which the database was away (from) and when it was back. */
export interface OutageWindow {
  readonly what: string;
  /** When the database went (or was about to go) away. */
  from: number;
  /** When it was accepting connections again. */
  back: number;
}

/**
 * The failures that break DESIGN §4's outage promise: anything but 503
 * SERVICE_UNAVAILABLE, or a failure outside every outage and the recovery
 * time after it.
 */
export function brokenOutagePromises(failures: readonly Failure[], windows: readonly OutageWindow[], recoveryMs: number): Failure[] {
  return failures.filter((f) => {
    const inOutage = windows.some((w) => f.at >= w.from && f.at <= w.back + recoveryMs);
    return !(inOutage && f.status === 503 && f.code === 'SERVICE_UNAVAILABLE');
  });
}
