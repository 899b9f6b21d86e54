import { createEnvironment, createSpace, disconnect, expectAccessible, expectNothingLeaked, must, openSession, upsert } from './support/harness';

afterAll(disconnect);

describe('tokens', () => {
  it('creates a listener token for a space, shows it once with a copy button, and revokes it', async () => {
    const environment = await createEnvironment();
    const space = await createSpace(environment.id);
    const secret = `tok-secret-${Math.random().toString(36).slice(2)}`;
    await upsert({ environmentId: environment.id, name: 'READ_ME', value: secret });
    const session = await openSession();
    const { page, context } = session;
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.getByRole('heading', { name: 'Tokens', level: 1 }).waitFor();
    await expectAccessible(page, 'Tokens');

    await page.getByRole('button', { name: 'New listener token' }).click();
    const dialog = page.getByRole('dialog', { name: 'New listener token' });
    await dialog.getByRole('textbox', { name: 'Name' }).fill(`listener ${space.name}`);
    await dialog.getByRole('combobox', { name: 'Environment' }).fill(environment.name);
    await page.getByRole('option', { name: environment.name }).click();
    await dialog.getByRole('combobox', { name: 'Space' }).fill(space.name);
    await page.getByRole('option', { name: space.name }).click();
    await dialog.getByRole('combobox', { name: 'Expires' }).click();
    await page.getByRole('option', { name: 'In 30 days' }).click();
    await expectAccessible(page, 'New listener token dialog');
    await dialog.getByRole('button', { name: 'Create' }).click();

    const box = page.getByRole('textbox', { name: 'Token' });
    await box.waitFor();
    expect(await box.getAttribute('readonly')).not.toBeNull();
    const token = await box.inputValue();
    expect(token).toMatch(/^sst_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    // the token works, bound to that space, and expires in 30 days
    const read = await must(`{ effectiveSecrets { name value } viewer { spaceId expiresAt } }`, undefined, token);
    expect(read.viewer.spaceId).toBe(space.id);
    expect(Math.round((Date.parse(read.viewer.expiresAt) - Date.now()) / 86_400_000)).toBe(30);
    await expectNothingLeaked(session, [secret], { allowedToken: token });

    await page.getByRole('button', { name: 'Done' }).click();
    await box.waitFor({ state: 'detached' });
    // shown once: gone from the page with the dialog
    expect(await page.content()).not.toContain(token);
    expect(await page.evaluate(() => [...document.querySelectorAll('input')].map((i) => i.value).join(' '))).not.toContain(token);

    await page.getByRole('button', { name: `Revoke listener ${space.name}` }).click();
    await page.getByRole('alertdialog', { name: `Revoke listener ${space.name}?` }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('button', { name: `Revoke listener ${space.name}` }).waitFor({ state: 'detached' });
    expect((await fetch(`${process.env.E2E_URL}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: '{ viewer { id } }' }) })).status).toBe(401);
    await session.close();
  });
});

describe('audit log', () => {
  it('pages through events newest first and filters by environment', async () => {
    const environment = await createEnvironment();
    for (let i = 0; i < 4; i++) {
      const fields = Array.from({ length: 15 }, (_, j) => `s${j}: upsertSecret(input: { environmentId: "${environment.id}", name: "A_${i}_${j}", value: "audit-value" }) { id }`);
      await must(`mutation { ${fields.join(' ')} }`);
    }
    const session = await openSession();
    const { page } = session;
    await page.goto(`/audit?environment=${environment.id}`);
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    const table = page.getByRole('grid', { name: 'Audit events' });
    await table.getByRole('row').filter({ hasText: 'A_3_14 v1' }).waitFor();
    expect(await table.getByRole('row').count()).toBe(51); // a header and a page of 50
    expect(await page.getByRole('combobox', { name: 'Environment' }).inputValue()).toBe(environment.name);
    await expectAccessible(page, 'Audit log');

    await page.getByRole('button', { name: 'Older events' }).click();
    await table.getByRole('row').filter({ hasText: 'A_0_0 v1' }).waitFor();
    await table.getByRole('row').filter({ hasText: 'Environment created' }).waitFor();
    expect(page.url()).toContain('after=');
    await page.goBack();
    await table.getByRole('row').filter({ hasText: 'A_3_14 v1' }).waitFor();

    await page.getByRole('button', { name: 'Show all environments' }).click();
    await page.waitForURL((url) => !url.search.includes('environment='));
    await session.close();
  });
});
