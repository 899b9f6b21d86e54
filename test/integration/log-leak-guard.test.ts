import { startTestApp } from '../support/app';
import { createEnvironment, upsertSecret } from '../support/operations';

/*
 * Every test app checks, when it closes, that no secret value sent through it
 * appears in any server log line. This proves that check can fail.
 */
it('a test app refuses to close cleanly when a sent value reached the log', async () => {
  const app = await startTestApp();
  const env = await createEnvironment(app, 'leak-guard');
  await upsertSecret(app, { environmentId: env, name: 'GUARDED', value: 'guarded-value-5150' });
  app.container.logger.warn({ note: 'simulated leak of guarded-value-5150' }, 'oops');
  await expect(app.close()).rejects.toThrow(/1 secret value\(s\) appeared in the server log/);
});
