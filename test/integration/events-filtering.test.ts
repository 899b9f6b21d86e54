import { startTestApp, type TestApp } from '../support/app';
import { createEnvironment, createSpace, dataOf, upsertSecret } from '../support/operations';
import { openSession, type Session, type Stream } from '../support/ws';

/*
 * DESIGN §12's inheritance, through the public surface: subscriptions over
 * WebSocket, changes through GraphQL mutations. World: environment E with
 * spaces S1 (overrides SHARED) and S2; environment F elsewhere.
 */

let app: TestApp;
let session: Session;
const w = {} as Record<'env' | 'other' | 's1' | 's2', string>;

beforeAll(async () => {
  app = await startTestApp();
  w.env = await createEnvironment(app, 'E');
  w.other = await createEnvironment(app, 'F');
  w.s1 = await createSpace(app, w.env, 'S1');
  w.s2 = await createSpace(app, w.env, 'S2');
  await upsertSecret(app, { environmentId: w.env, name: 'SHARED', value: 'env-value-1' });
  await upsertSecret(app, { environmentId: w.env, spaceId: w.s1, name: 'SHARED', value: 's1-value-1' });
  session = await openSession(app.url);
});
afterAll(async () => {
  await session?.close();
  await app?.close();
});

/** Subscribes each, then proves them live with one marker write in `environmentId` that each of them sees. */
async function liveAll(list: { variables: Record<string, unknown>; session?: Session }[], environmentId = w.env): Promise<Stream[]> {
  const streams = list.map(({ variables, session: s }) => (s ?? session).subscribe(variables));
  await new Promise((r) => setTimeout(r, 150)); // the subscribe messages are handled before the marker commits
  const marker = `MARK_${Math.random().toString(36).slice(2)}`;
  await upsertSecret(app, { environmentId, name: marker, value: 'marker-value' });
  for (const stream of streams) {
    const [first] = await stream.waitFor(1);
    expect(first.name).toBe(marker);
    stream.events.length = 0;
  }
  return streams;
}

const live = async (variables: Record<string, unknown>, s?: Session) =>
  (await liveAll([{ variables, session: s }], (variables.environmentId as string | undefined) ?? w.env))[0];

const names = (stream: Stream) => stream.events.map((e) => `${e.name}@${e.spaceId === null ? 'env' : e.spaceId === w.s1 ? 's1' : 's2'}`);

it('an environment-level change reaches the environment and the spaces that do not override it, never another environment', async () => {
  const [envWide, s1, s2] = await liveAll([
    { variables: { environmentId: w.env } },
    { variables: { environmentId: w.env, spaceId: w.s1 } },
    { variables: { spaceId: w.s2 } },
  ]);
  const elsewhere = await live({ environmentId: w.other });

  const written = await upsertSecret(app, { environmentId: w.env, name: 'SHARED', value: 'env-value-2' });
  await envWide.waitFor(1);
  await s2.waitFor(1);
  expect(envWide.events[0]).toEqual({
    cursor: expect.any(String),
    topic: 'secret:updated',
    action: 'SECRET_WRITTEN',
    at: expect.any(String),
    tokenId: expect.any(String),
    environmentId: w.env,
    spaceId: null,
    actorId: null,
    secretId: written.id,
    name: 'SHARED',
    version: 2,
    affectedSpaceIds: [w.s2],
  });
  expect(s2.events).toEqual(envWide.events);

  /* A space-level change: its own space and the environment-wide subscriber only. */
  await upsertSecret(app, { environmentId: w.env, spaceId: w.s1, name: 'SHARED', value: 's1-value-2' });
  await s1.waitFor(1);
  await envWide.waitFor(2);
  expect(s1.events.map((e) => [e.name, e.spaceId, e.version, e.affectedSpaceIds])).toEqual([['SHARED', w.s1, 2, [w.s1]]]);

  /* One more write everyone in E sees settles what S1 and F did not get. */
  await upsertSecret(app, { environmentId: w.env, name: 'FLUSH', value: 'flush-value' });
  await Promise.all([envWide.waitFor(3), s1.waitFor(2), s2.waitFor(2)]);
  expect(names(envWide)).toEqual(['SHARED@env', 'SHARED@s1', 'FLUSH@env']);
  expect(names(s1)).toEqual(['SHARED@s1', 'FLUSH@env']); // the environment's SHARED is overridden in S1
  expect(names(s2)).toEqual(['SHARED@env', 'FLUSH@env']);
  await upsertSecret(app, { environmentId: w.other, name: 'F_FLUSH', value: 'flush-value' });
  await elsewhere.waitFor(1);
  expect(elsewhere.events.map((e) => e.name)).toEqual(['F_FLUSH']);
  for (const s of [envWide, s1, s2, elsewhere]) s.stop();
});

it('personal rows reach subscribers naming their actor and environment-wide ones; never another actor, never a space without an actor', async () => {
  const [envWide, envAlice, s2, s2Alice] = await liveAll([
    { variables: { environmentId: w.env } },
    { variables: { environmentId: w.env, actorId: 'us_alice' } },
    { variables: { spaceId: w.s2 } },
    { variables: { spaceId: w.s2, actorId: 'us_alice' } },
  ]);
  const personal = async (actorId: string, name: string, spaceId: string | null) =>
    dataOf(await app.gql(`mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }`, { i: { environmentId: w.env, spaceId, actorId, name, value: `personal-${name}` } }));
  await personal('us_alice', 'P_ENV_ALICE', null);
  await personal('us_bob', 'P_ENV_BOB', null);
  await personal('us_alice', 'P_S2_ALICE', w.s2);
  await personal('us_alice', 'P_S1_ALICE', w.s1);
  await upsertSecret(app, { environmentId: w.env, name: 'AFTER_PERSONAL', value: 'after-personal-value' });

  await Promise.all([envWide.waitFor(5), envAlice.waitFor(4), s2.waitFor(1), s2Alice.waitFor(3)]);
  const seen = (stream: Stream) => stream.events.map((e) => `${e.name}:${e.actorId ?? '-'}`);
  expect(seen(envWide)).toEqual(['P_ENV_ALICE:us_alice', 'P_ENV_BOB:us_bob', 'P_S2_ALICE:us_alice', 'P_S1_ALICE:us_alice', 'AFTER_PERSONAL:-']);
  expect(seen(envAlice)).toEqual(['P_ENV_ALICE:us_alice', 'P_S2_ALICE:us_alice', 'P_S1_ALICE:us_alice', 'AFTER_PERSONAL:-']);
  expect(seen(s2)).toEqual(['AFTER_PERSONAL:-']);
  expect(seen(s2Alice)).toEqual(['P_ENV_ALICE:us_alice', 'P_S2_ALICE:us_alice', 'AFTER_PERSONAL:-']);
  for (const s of [envWide, envAlice, s2, s2Alice]) s.stop();
});

it('topics follow what happened to the row: created, updated, deleted', async () => {
  const stream = await live({ environmentId: w.env });
  const created = await upsertSecret(app, { environmentId: w.env, name: 'TOPICS', value: 'topic-value-1' });
  await upsertSecret(app, { environmentId: w.env, name: 'TOPICS', value: 'topic-value-2' });
  dataOf(await app.gql(`mutation($id: ID!) { deleteSecret(id: $id) }`, { id: created.id }));
  const events = await stream.waitFor(3);
  expect(events.map((e) => [e.topic, e.action, e.version])).toEqual([
    ['secret:created', 'SECRET_WRITTEN', 1],
    ['secret:updated', 'SECRET_WRITTEN', 2],
    ['secret:deleted', 'SECRET_DELETED', 2],
  ]);
  expect(new Set(events.map((e) => e.secretId))).toEqual(new Set([created.id]));
  stream.stop();
});

it('a space subscription completes when its space is deleted, an environment one when its environment is', async () => {
  const env = await createEnvironment(app, 'doomed');
  const space = await createSpace(app, env, 'doomed space');
  const [spaceStream, envStream] = await liveAll([{ variables: { environmentId: env, spaceId: space } }, { variables: { environmentId: env } }], env);
  dataOf(await app.gql(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id: space }));
  await spaceStream.ended();
  expect(spaceStream.completed).toBe(true);
  expect(envStream.completed).toBe(false);
  dataOf(await app.gql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: env }));
  await envStream.ended();
  expect([spaceStream.errors, envStream.errors]).toEqual([[], []]);
});

it('a listener bound to a space sees its effective view whatever it names; outside its binding it is refused', async () => {
  const token = await app.listener(w.env, w.s2);
  const listenerSession = await openSession(app.url, { token });
  try {
    const stream = await live({}, listenerSession); // defaults to its space
    await upsertSecret(app, { environmentId: w.env, spaceId: w.s1, name: 'S1_ONLY', value: 's1-only-value' });
    await upsertSecret(app, { environmentId: w.env, name: 'AFTER_S1', value: 'after-value' });
    await stream.waitFor(1);
    expect(stream.events.map((e) => e.name)).toEqual(['AFTER_S1']);

    for (const variables of [{ environmentId: w.other }, { spaceId: w.s1 }]) {
      const refused = listenerSession.subscribe(variables);
      await refused.ended();
      expect(refused.errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    }
  } finally {
    await listenerSession.close();
  }
});
