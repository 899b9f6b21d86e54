import {
  createEnvironment,
  createSpace,
  disconnect,
  expectAccessible,
  expectNothingLeaked,
  must,
  openSession,
  upsert,
  whenSchemaHas,
  type Session,
} from './support/harness';

afterAll(disconnect);

const VALUE = (tag: string) => `sp-${tag}-${Math.random().toString(36).slice(2)}-hidden`;
const row = (session: Session, name: string) => session.page.getByRole('row').filter({ has: session.page.getByRole('rowheader', { name }) });

describe("a space's Secrets", () => {
  // the Secrets view selects overrideStale and actorId (DESIGN §10, §11)
  const withProvenance = whenSchemaHas('overrideStale');
  withProvenance('creates a space from the environment, and shows each name with its source', async () => {
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

  withProvenance('overrides an inherited name, flags it Stale when the environment changes, and removes the override', async () => {
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

  withProvenance("switches to an actor's view, where personal values say Personal", async () => {
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

  whenSchemaHas('secretEvents(')('updates within 2 s when another admin writes through the API', async () => {
    const environment = await createEnvironment();
    const space = await createSpace(environment.id);
    await upsert({ environmentId: environment.id, name: 'LIVE', value: VALUE('one') });
    const session = await openSession();
    const { page } = session;
    await page.goto(`/spaces/${space.id}`);
    await row(session, 'LIVE').getByText('v1').waitFor();
    // the subscription is open before the write (graphql-ws over the session cookie)
    await page.waitForEvent('websocket', { timeout: 5000 }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));

    await upsert({ environmentId: environment.id, name: 'LIVE', value: VALUE('two') });
    await upsert({ environmentId: environment.id, name: 'LIVE_NEW', value: VALUE('three') });
    await row(session, 'LIVE').getByText('v2').waitFor({ timeout: 2000 });
    await row(session, 'LIVE_NEW').waitFor({ timeout: 2000 });

    await page.goto(`/environments/${environment.id}`);
    await row(session, 'LIVE').getByText('v2').waitFor();
    await must(`mutation($id: ID!) { deleteSecret(id: $id) }`, {
      id: (await must(`query($id: ID!) { environment(id: $id) { secrets { id name } } }`, { id: environment.id })).environment.secrets.find(
        (s: { name: string }) => s.name === 'LIVE_NEW',
      ).id,
    });
    await row(session, 'LIVE_NEW').waitFor({ state: 'detached', timeout: 2000 });
    await session.close();
  });
});
