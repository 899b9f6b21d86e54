import {
  createEnvironment,
  disconnect,
  expectAccessible,
  expectFocusVisible,
  expectNothingLeaked,
  must,
  openSession,
  upsert,
  type Session,
} from './support/harness';

afterAll(disconnect);

const VALUE = (tag: string) => `sv-${tag}-${Math.random().toString(36).slice(2)}-do-not-show`;
const version = async (environmentId: string, name: string) =>
  (await must(`query($id: ID!) { environment(id: $id) { secrets { name version } } }`, { id: environmentId })).environment.secrets.find(
    (s: { name: string }) => s.name === name,
  )?.version;

async function openEnvironment(session: Session, environment: { id: string; name: string }) {
  await session.page.goto(`/environments/${environment.id}`);
  await session.page.getByRole('heading', { name: 'Developer Settings' }).waitFor();
}

const row = (session: Session, name: string) => session.page.getByRole('row').filter({ has: session.page.getByRole('rowheader', { name }) });

describe('Developer Settings', () => {
  it('creates an environment, adds and replaces a secret, and never holds a value', async () => {
    const session = await openSession();
    const { page } = session;
    const name = `env-${Date.now().toString(36)}`;
    await page.getByRole('button', { name: 'New environment' }).click();
    await page.getByRole('dialog', { name: 'New environment' }).getByRole('textbox', { name: 'Name' }).fill(name);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name, level: 1 }).waitFor();
    expect(page.url()).toMatch(/\/environments\/[0-9a-f-]{36}$/);
    await page.getByRole('link', { name: 'Developer Settings', exact: true }).waitFor();
    await expectAccessible(page, 'Developer Settings (empty)');

    const first = VALUE('first');
    await page.getByRole('button', { name: 'Add secret' }).click();
    const add = page.getByRole('dialog', { name: 'Add secret' });
    await add.getByRole('textbox', { name: 'Name' }).fill('SLACK_TOKEN');
    await add.getByRole('textbox', { name: 'Value' }).fill(first);
    await expectAccessible(page, 'Add secret dialog');
    await add.getByRole('button', { name: 'Save' }).click();
    await row(session, 'SLACK_TOKEN').getByText('v1').waitFor();

    const second = VALUE('second');
    await page.getByRole('button', { name: 'Replace SLACK_TOKEN' }).click();
    await page.getByRole('dialog', { name: 'Replace SLACK_TOKEN' }).getByRole('textbox', { name: 'Value' }).fill(second);
    await page.getByRole('button', { name: 'Save' }).click();
    await row(session, 'SLACK_TOKEN').getByText('v2').waitFor();

    await page.reload();
    await row(session, 'SLACK_TOKEN').getByText('v2').waitFor();
    await expectAccessible(page, 'Developer Settings');
    await expectNothingLeaked(session, [first, second]);
    await session.close();
  });

  it('refuses a replace made on a stale version, says so, and saves on a deliberate second try', async () => {
    const environment = await createEnvironment();
    await upsert({ environmentId: environment.id, name: 'API_KEY', value: VALUE('v1') });
    const alice = await openSession();
    const bob = await openSession();
    await openEnvironment(alice, environment);
    await openEnvironment(bob, environment);

    await alice.page.getByRole('button', { name: 'Replace API_KEY' }).click();
    await bob.page.getByRole('button', { name: 'Replace API_KEY' }).click();
    const bobs = VALUE('bob');
    await bob.page.getByRole('textbox', { name: 'Value' }).fill(bobs);
    await bob.page.getByRole('button', { name: 'Save' }).click();
    await row(bob, 'API_KEY').getByText('v2').waitFor();

    const alices = VALUE('alice');
    const dialog = alice.page.getByRole('dialog', { name: 'Replace API_KEY' });
    await dialog.getByRole('textbox', { name: 'Value' }).fill(alices);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'Someone else changed API_KEY while this dialog was open: it is now v2, not v1' }).waitFor();
    expect(await version(environment.id, 'API_KEY')).toBe(2);

    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await version(environment.id, 'API_KEY')).toBe(3);
    await expectNothingLeaked(alice, [bobs, alices]);
    await expectNothingLeaked(bob, [bobs, alices]);
    await alice.close();
    await bob.close();
  });

  it('deletes with undo, and rolls back from history at once', async () => {
    const environment = await createEnvironment();
    const values = [VALUE('a'), VALUE('b'), VALUE('c')];
    for (const value of values) await upsert({ environmentId: environment.id, name: 'DB_URL', value });
    await upsert({ environmentId: environment.id, name: 'GONE', value: VALUE('gone') });
    const session = await openSession();
    const { page } = session;
    await openEnvironment(session, environment);

    await page.getByRole('button', { name: 'Delete GONE' }).click();
    await row(session, 'GONE').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Undo' }).click();
    await row(session, 'GONE').getByText('v2').waitFor();

    await page.getByRole('button', { name: 'History DB_URL' }).click();
    const history = page.getByRole('dialog', { name: 'History of DB_URL' });
    await history.getByRole('row').filter({ hasText: 'v1' }).waitFor();
    await expectAccessible(page, 'History dialog');
    await history.getByRole('button', { name: 'Roll back to version 1' }).click();
    await history.getByRole('row').filter({ hasText: 'v4' }).filter({ hasText: 'Current' }).waitFor();
    await history.getByText('copy of v1').waitFor();
    expect(await version(environment.id, 'DB_URL')).toBe(4);
    await page.keyboard.press('Escape');
    await history.waitFor({ state: 'detached' });
    await row(session, 'DB_URL').getByText('v4').waitFor();
    await expectNothingLeaked(session, values);
    await session.close();
  });

  it('previews a pasted .env by name (new or replacing), blocks on a bad line, then imports', async () => {
    const environment = await createEnvironment();
    await upsert({ environmentId: environment.id, name: 'EXISTING', value: VALUE('old') });
    const session = await openSession();
    const { page } = session;
    await openEnvironment(session, environment);
    const pasted = [VALUE('new1'), VALUE('rep'), VALUE('new2')];

    await page.getByRole('button', { name: 'Import .env' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import .env' });
    await dialog.getByRole('textbox', { name: '.env text' }).fill(`FRESH=${pasted[0]}\n9BAD=${pasted[1]}\nFRESH=${pasted[2]}`);
    await dialog.getByRole('button', { name: 'Preview' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'is not a valid name' }).waitFor();
    await dialog.getByText('FRESH is set twice (lines 1 and 3)').waitFor();
    expect(await dialog.getByRole('button', { name: /^Import/ }).isDisabled()).toBe(true);

    await dialog.getByRole('button', { name: 'Back' }).click();
    await dialog
      .getByRole('textbox', { name: '.env text' })
      .fill(`# pasted\nexport FRESH="${pasted[0]}"\nEXISTING='${pasted[1]}'\nOTHER=${pasted[2]} # note`);
    await dialog.getByRole('button', { name: 'Preview' }).click();
    const preview = dialog.getByRole('grid', { name: 'Import preview' });
    await preview.getByRole('row').filter({ hasText: 'FRESH' }).getByText('New').waitFor();
    await preview.getByRole('row').filter({ hasText: 'EXISTING' }).getByText('Replaces v1').waitFor();
    await preview.getByRole('row').filter({ hasText: 'OTHER' }).getByText('New').waitFor();
    await expectAccessible(page, 'import preview');
    await expectNothingLeaked(session, pasted, { fieldsHoldInput: true });

    await dialog.getByRole('button', { name: 'Import 3 secrets' }).click();
    await dialog.waitFor({ state: 'detached' });
    await row(session, 'EXISTING').getByText('v2').waitFor();
    await row(session, 'FRESH').getByText('v1').waitFor();
    expect(await version(environment.id, 'OTHER')).toBe(1);
    await expectNothingLeaked(session, pasted);
    await session.close();
  });

  it('closes dialogs with Escape, shows focus, and searches a long list', async () => {
    const environment = await createEnvironment();
    const names = Array.from({ length: 120 }, (_, i) => `KEY_${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 15) {
      const batch = names.slice(i, i + 15);
      const fields = batch.map((name, j) => `s${j}: upsertSecret(input: { environmentId: "${environment.id}", name: "${name}", value: "v-${name}" }) { id }`);
      await must(`mutation { ${fields.join(' ')} }`);
    }
    const session = await openSession();
    const { page } = session;
    await openEnvironment(session, environment);
    await page.getByText('120 secrets').waitFor();

    await page.getByRole('button', { name: 'Add secret' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Add secret' });
    await dialog.waitFor();
    await expectFocusVisible(page);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // virtualised: far fewer rows in the DOM than secrets, and search finds one that is not rendered
    expect(await page.getByRole('row').count()).toBeLessThan(40);
    await page.getByRole('searchbox', { name: 'Search secrets' }).fill('KEY_119');
    await row(session, 'KEY_119').waitFor();
    expect(await page.getByRole('row').count()).toBe(2);
    await session.close();
  });
});
