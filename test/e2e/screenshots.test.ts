import path from 'node:path';

import { createEnvironment, createSpace, disconnect, must, openSession, upsert } from './support/harness';

afterAll(disconnect);

/*
 * `SCREENSHOTS=docs npm run test:e2e -- test/e2e/screenshots.test.ts`
 * rewrites the README's pictures under docs/ from a real server. Skipped
 * otherwise: it proves nothing beyond the other e2e files, and CI should not
 * rewrite committed files.
 */
const maybe = process.env.SCREENSHOTS === 'docs' ? describe : describe.skip;
const docs = path.join(__dirname, '..', '..', 'docs');

maybe('screenshots for the README', () => {
  it('captures the main screens', async () => {
    const environment = await createEnvironment('production');
    await createEnvironment('staging');
    const acme = await createSpace(environment.id, 'acme');
    await createSpace(environment.id, 'globex');
    for (const name of ['SLACK_TOKEN', 'DATABASE_URL', 'STRIPE_KEY', 'SENTRY_DSN', 'API_BASE_URL', 'SMTP_PASSWORD']) {
      await upsert({ environmentId: environment.id, name, value: `value-of-${name}` });
    }
    await upsert({ environmentId: environment.id, name: 'DATABASE_URL', value: 'second-value' });
    await upsert({ environmentId: environment.id, spaceId: acme.id, name: 'SLACK_TOKEN', value: 'acme-slack' });
    await upsert({ environmentId: environment.id, spaceId: acme.id, name: 'ACME_WEBHOOK', value: 'acme-hook' });
    await upsert({ environmentId: environment.id, name: 'SLACK_TOKEN', value: 'rotated-slack' });
    await must(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`, {
      input: { name: 'acme listener', role: 'LISTENER', environmentId: environment.id, spaceId: acme.id },
    });

    const session = await openSession();
    const { page } = session;
    const shot = (name: string) => page.screenshot({ path: path.join(docs, `ui-${name}.png`) });
    await page.goto('/environments');
    await page.getByRole('link', { name: 'production' }).waitFor();
    await shot('environments');
    await page.goto(`/environments/${environment.id}`);
    await page.getByRole('rowheader', { name: 'SMTP_PASSWORD' }).waitFor();
    await shot('developer-settings');
    await page.getByRole('button', { name: 'Import .env' }).click();
    await page.getByRole('textbox', { name: '.env text' }).fill('SLACK_TOKEN=new\nexport NEW_FLAG="on"\n# comment\nREDIS_URL=redis://cache');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByRole('grid', { name: 'Import preview' }).waitFor();
    await shot('import-preview');
    await page.keyboard.press('Escape');
    await page.goto(`/spaces/${acme.id}`);
    await page.getByRole('rowheader', { name: 'ACME_WEBHOOK' }).waitFor();
    await shot('space-secrets');
    await page.goto('/tokens');
    await page.getByRole('button', { name: 'New listener token' }).click();
    await page.getByRole('textbox', { name: 'Name' }).fill('billing listener');
    await page.getByRole('combobox', { name: 'Environment' }).fill('production');
    await page.getByRole('option', { name: 'production' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('textbox', { name: 'Token' }).waitFor();
    await shot('token-once');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.goto(`/audit?environment=${environment.id}`);
    await page.getByRole('grid', { name: 'Audit events' }).waitFor();
    await shot('audit-log');
    await session.close();
  });
});
