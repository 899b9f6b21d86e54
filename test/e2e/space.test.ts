import type { WebSocketRoute } from 'playwright-core';

import {
  baseUrl,
  createEnvironment,
  createSpace,
  disconnect,
  expectAccessible,
  expectNothingLeaked,
  must,
  openSession,
  upsert,
  type Session,
} from './support/harness';

afterAll(disconnect);

const VALUE = (tag: string) => `sp-${tag}-${Math.random().toString(36).slice(2)}-hidden`;
const row = (session: Session, name: string) => session.page.getByRole('row').filter({ has: session.page.getByRole('rowheader', { name }) });

/** The page has sent its subscribe; the server starts delivering once it has set the subscription up, a moment later. */
async function subscribed(sent: readonly string[]): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!sent.some((frame) => frame.includes('"subscribe"'))) {
    if (Date.now() > deadline) throw new Error('the page never subscribed');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}

const messages = (frames: readonly string[], type: string) => frames.map((frame) => JSON.parse(frame)).filter((message) => message.type === type);

describe("a space's Secrets", () => {
  it('creates a space from the environment, and shows each name with its source', async () => {
    const environment = await createEnvironment();
    const values = [VALUE('env-a'), VALUE('env-b'), VALUE('space-b'), VALUE('space-c')];
    await upsert({ environmentId: environment.id, name: 'A_INHERITED', value: values[0] });
    await upsert({ environmentId: environment.id, name: 'B_OVERRIDDEN', value: values[1] });
    const session = await openSession();
    const { page } = session;
    await page.goto(`/environments/${environment.id}`);
    await page.getByRole('link', { name: 'Spaces', exact: true }).click();
    await page.getByRole('button', { name: 'New space' }).click();
    await page.getByRole('dialog', { name: 'New space' }).getByRole('textbox', { name: 'Name' }).fill('acme');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'acme', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Secrets', exact: true }).waitFor();
    const spaceId = new URL(page.url()).pathname.split('/').pop()!;
    await upsert({ environmentId: environment.id, spaceId, name: 'B_OVERRIDDEN', value: values[2] });
    await upsert({ environmentId: environment.id, spaceId, name: 'C_SPACE_ONLY', value: values[3] });

    await page.reload();
    await row(session, 'A_INHERITED').getByText('Inherited', { exact: true }).waitFor();
    await row(session, 'B_OVERRIDDEN').getByText('Overridden', { exact: true }).waitFor();
    await row(session, 'C_SPACE_ONLY').getByText('Space only', { exact: true }).waitFor();
    await row(session, 'C_SPACE_ONLY').getByText('v1').waitFor();
    await expectAccessible(page, "a space's Secrets");

    await page.getByRole('link', { name: 'Spaces', exact: true }).click();
    await page.getByRole('link', { name: 'acme' }).waitFor();
    await expectAccessible(page, 'Spaces');
    await expectNothingLeaked(session, values);
    await session.close();
  });

  it('overrides an inherited name, flags it Stale when the environment changes, and removes the override', async () => {
    const environment = await createEnvironment();
    const space = await createSpace(environment.id);
    const values = [VALUE('env1'), VALUE('override'), VALUE('env2')];
    await upsert({ environmentId: environment.id, name: 'SLACK_TOKEN', value: values[0] });
    const session = await openSession();
    const { page } = session;
    await page.goto(`/spaces/${space.id}`);
    await row(session, 'SLACK_TOKEN').getByText('Inherited', { exact: true }).waitFor();

    await page.getByRole('button', { name: 'Override SLACK_TOKEN' }).click();
    const dialog = page.getByRole('dialog', { name: 'Override SLACK_TOKEN' });
    await dialog.getByRole('textbox', { name: 'Value' }).fill(values[1]);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await row(session, 'SLACK_TOKEN').getByText('Overridden', { exact: true }).waitFor();
    expect(await row(session, 'SLACK_TOKEN').getByText('Stale', { exact: true }).count()).toBe(0);

    // another admin changes the environment's value underneath: the override is now Stale
    await upsert({ environmentId: environment.id, name: 'SLACK_TOKEN', value: values[2] });
    await page.reload();
    await row(session, 'SLACK_TOKEN').getByText('Stale', { exact: true }).waitFor();
    await page.getByRole('status').filter({ hasText: 'stale' }).or(page.getByText('1 override is stale')).first().waitFor();
    await expectAccessible(page, 'Stale override');

    await page.getByRole('button', { name: 'Remove override SLACK_TOKEN' }).click();
    await row(session, 'SLACK_TOKEN').getByText('Inherited', { exact: true }).waitFor();
    await expectNothingLeaked(session, values);
    await session.close();
  });

  it("switches to an actor's view, where personal values say Personal", async () => {
    const environment = await createEnvironment();
    const space = await createSpace(environment.id);
    const values = [VALUE('shared'), VALUE('personal')];
    await upsert({ environmentId: environment.id, name: 'API_KEY', value: values[0] });
    await upsert({ environmentId: environment.id, spaceId: space.id, actorId: 'us_ag_1a2b3c', name: 'API_KEY', value: values[1] });
    const session = await openSession();
    const { page } = session;
    await page.goto(`/spaces/${space.id}`);
    await row(session, 'API_KEY').getByText('Inherited', { exact: true }).waitFor();

    await page.getByRole('textbox', { name: 'Actor' }).fill('us_ag_1a2b3c');
    await row(session, 'API_KEY').getByText('Personal', { exact: true }).waitFor();
    await page.waitForURL(/actor=us_ag_1a2b3c/);
    await page.reload();
    await row(session, 'API_KEY').getByText('Personal', { exact: true }).waitFor();
    expect(await page.getByRole('textbox', { name: 'Actor' }).inputValue()).toBe('us_ag_1a2b3c');

    await page.getByRole('textbox', { name: 'Actor' }).fill('');
    await row(session, 'API_KEY').getByText('Inherited', { exact: true }).waitFor();
    await expectNothingLeaked(session, values);
    await session.close();
  });

  it('updates live when another admin writes through the API: name, version and source, never a value', async () => {
    const environment = await createEnvironment();
    const space = await createSpace(environment.id);
    const values = [VALUE('one'), VALUE('two'), VALUE('three'), VALUE('override')];
    await upsert({ environmentId: environment.id, name: 'LIVE', value: values[0] });
    const session = await openSession();
    const { page } = session;
    const sent: string[] = [];
    const upgrades: string[] = [];
    page.on('websocket', (socket) => {
      upgrades.push(socket.url());
      socket.on('framesent', (frame) => void sent.push(String(frame.payload)));
    });
    await page.goto(`/spaces/${space.id}`);
    await row(session, 'LIVE').getByText('v1').waitFor();
    await subscribed(sent);

    await upsert({ environmentId: environment.id, name: 'LIVE', value: values[1] });
    await upsert({ environmentId: environment.id, name: 'FRESH', value: values[2] });
    await row(session, 'LIVE').getByText('v2').waitFor({ timeout: 2000 });
    await row(session, 'FRESH').getByText('Inherited', { exact: true }).waitFor({ timeout: 2000 });
    await upsert({ environmentId: environment.id, spaceId: space.id, name: 'LIVE', value: values[3] });
    await row(session, 'LIVE').getByText('Overridden', { exact: true }).waitFor({ timeout: 2000 });
    await row(session, 'LIVE').getByText('v1').waitFor();

    // the session cookie authenticated the upgrade: no token in the URL or in connection_init
    expect(upgrades).toEqual([`${baseUrl().replace(/^http/, 'ws')}/graphql`]);
    expect(messages(sent, 'connection_init')).toEqual([{ type: 'connection_init' }]);

    await page.goto(`/environments/${environment.id}`);
    await row(session, 'LIVE').getByText('v2').waitFor();
    await must(`mutation($id: ID!) { deleteSecret(id: $id) }`, {
      id: (await must(`query($id: ID!) { environment(id: $id) { secrets { id name } } }`, { id: environment.id })).environment.secrets.find(
        (s: { name: string }) => s.name === 'FRESH',
      ).id,
    });
    await row(session, 'FRESH').waitFor({ state: 'detached', timeout: 2000 });
    await expectNothingLeaked(session, values);
    await session.close();
  });

  it('says when live updates are paused, catches up after reconnecting (resuming after the last event), and can resume after a failure', async () => {
    const environment = await createEnvironment();
    const space = await createSpace(environment.id);
    const values = [VALUE('r1'), VALUE('r2'), VALUE('r3'), VALUE('r4')];
    await upsert({ environmentId: environment.id, name: 'RESUME', value: values[0] });
    const session = await openSession();
    const { page } = session;
    /* Every socket of the page goes through here, so the test can drop it like a network or a restarting server would. */
    const sockets: WebSocketRoute[] = [];
    const sent: string[] = [];
    const received: string[] = [];
    let down = false;
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      if (down) return void socket.close({ code: 1012, reason: 'down' });
      const server = socket.connectToServer();
      socket.onMessage((message) => {
        sent.push(String(message));
        server.send(message);
      });
      server.onMessage((message) => {
        received.push(String(message));
        socket.send(message);
      });
      sockets.push(socket);
    });
    const status = page.getByRole('status').filter({ hasText: /^Live updates/ });

    await page.goto(`/spaces/${space.id}`);
    await row(session, 'RESUME').getByText('v1').waitFor();
    await subscribed(sent);
    await upsert({ environmentId: environment.id, name: 'RESUME', value: values[1] });
    await row(session, 'RESUME').getByText('v2').waitFor({ timeout: 2000 });
    const cursor = messages(received, 'next').at(-1).payload.data.secretEvents.cursor;
    expect(await status.count()).toBe(0);

    // the connection drops (a restarting server): the page says so, and a write meanwhile is not lost
    down = true;
    await sockets.at(-1)!.close({ code: 1012, reason: 'service restart' });
    await status.filter({ hasText: 'paused' }).waitFor({ timeout: 2000 });
    await expectAccessible(page, 'live updates paused');
    await upsert({ environmentId: environment.id, name: 'RESUME', value: values[2] });
    down = false;
    await row(session, 'RESUME').getByText('v3').waitFor({ timeout: 15_000 });
    await status.waitFor({ state: 'detached', timeout: 2000 });
    expect(messages(sent, 'subscribe').at(-1).payload.variables).toEqual({ environmentId: environment.id, spaceId: space.id, after: cursor });

    // a close the client may not retry after: live updates stop, the page says so and offers to resume
    await sockets.at(-1)!.close({ code: 4500, reason: 'internal error' });
    await status.filter({ hasText: 'stopped' }).waitFor({ timeout: 2000 });
    await expectAccessible(page, 'live updates stopped');
    await upsert({ environmentId: environment.id, name: 'RESUME', value: values[3] });
    await page.getByRole('button', { name: 'Resume live updates' }).click();
    await row(session, 'RESUME').getByText('v4').waitFor({ timeout: 5000 });
    await status.waitFor({ state: 'detached', timeout: 2000 });
    await page.getByRole('button', { name: 'Resume live updates' }).waitFor({ state: 'detached' });
    await expectNothingLeaked(session, values);
    await session.close();
  });
});
