import type { Problem } from '../api/errors';

/** What a failed check-and-set means for the admin looking at this dialog, and the version to try next. */
export function describeWriteProblem(name: string, problem: Problem, expectedVersion: number): { message: string; retryVersion?: number } {
  if (problem.code !== 'VERSION_CONFLICT') return { message: problem.message };
  const now = problem.currentVersion;
  if (expectedVersion === 0) {
    return now
      ? { message: `${name} was just created by someone else (now v${now}). Nothing was saved. Save again to replace v${now} with your value.`, retryVersion: now }
      : { message: `${name} was just created by someone else. Nothing was saved. Close this dialog and look again.` };
  }
  return now
    ? {
        message: `Someone else changed ${name} while this dialog was open: it is now v${now}, not v${expectedVersion}. Your value was not saved. Save again to replace v${now} with it.`,
        retryVersion: now,
      }
    : { message: `Someone else changed or deleted ${name} while this dialog was open. Your value was not saved. Close this dialog and look again.` };
}
