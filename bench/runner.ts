import os from 'node:os';

import { formatExperiments, runExperiments, type ExperimentResults } from './experiments';
import { log } from './log';
import { provenance, writeReport } from './output';
import { FULL, QUICK, SCENARIO_NAMES, type Options } from './plan';
import { formatTable, formatTargets } from './report';
import { SCENARIOS } from './scenarios';
import { BenchSession } from './session';
import { evaluateTargets } from './targets';

/*
 * One run: the serving scenarios against the in-process server and
 * baseline (all seeded first), the experiments if asked, then with the
 * server stopped the scenarios that restart it or spawn the built product;
 * then ratios, targets, the table and the files.
 */

export async function runBench(options: Options): Promise<void> {
  const plan = options.quick ? QUICK : FULL;
  const startedAt = new Date();
  const wallStart = performance.now();
  const loadBefore = os.loadavg();
  const selected = SCENARIOS.filter((s) => options.only.has(s.name));
  const session = await BenchSession.open(options, plan);
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void session.dispose().finally(() => process.exit(130));
  });
  let experiments: ExperimentResults | undefined;
  try {
    await session.startServing();
    const seedStart = performance.now();
    const serving = [];
    for (const scenario of selected.filter((s) => s.phase === 'serving')) serving.push(await scenario.prepare(session));
    await session.analyze();
    log(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
    session.rss.takePeakMb();
    for (const run of serving) await run();
    if (options.experiments) experiments = await runExperiments(session);

    await session.stopServing();
    for (const scenario of selected.filter((s) => s.phase === 'stopped')) await (await scenario.prepare(session))();
  } finally {
    await session.dispose();
  }

  /* Table order: by scenario number (the restarts run last), ratios against rows of this run. */
  const byId = new Map(session.results.map((r) => [r.id, r]));
  const results = [...session.results]
    .sort((a, b) => a.scenario - b.scenario)
    .map((r) => {
      const base = r.ratioTo ? byId.get(r.ratioTo) : undefined;
      return base?.rps && r.rps !== undefined ? { ...r, ratio: r.rps / base.rps } : r;
    });
  const targets = evaluateTargets(new Map(results.map((r) => [r.id, r])), plan);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  process.stdout.write(`\n${formatTable(results)}\n\n${formatTargets(targets)}\n\n`);
  for (const r of results) if (r.notes) process.stdout.write(`${r.id}: ${r.notes}\n`);
  process.stdout.write(`peak RSS of the bench process (server + baseline): ${peakRssMb.toFixed(0)} MB\n`);
  if (experiments) process.stdout.write(`${formatExperiments(experiments)}\n`);

  const complete = options.only.size === SCENARIO_NAMES.length && !options.profile && !options.heapProfile;
  writeReport(
    {
      ...provenance(loadBefore),
      date: startedAt.toISOString(),
      database: { kind: session.database.kind, description: session.database.description, poolSize: session.env.DB_POOL_SIZE },
      mode: options.quick ? 'quick' : 'full',
      plan,
      options: { embedded: options.embedded, only: [...options.only], profile: options.profile, heapProfile: options.heapProfile, experiments: options.experiments },
      durationSec: (performance.now() - wallStart) / 1000,
      peakRssMb,
      notes: [
        'CPU columns are server-process CPU (process.cpuUsage: main thread, libuv and GC threads) per request; the load generator runs in a child process and is not counted.',
        'SQL/req counts the statements of the endpoint under load only: TypeORM\'s observer for the server, the baseline\'s own count for the baseline.',
        'DB CPU is the CPU of the PostgreSQL backends of the bench database (from /proc), when PostgreSQL runs on this machine.',
        'Ratios are requests/s against the framework-free baseline row named in ratioTo, measured in the same run.',
        'The load generator shares the machine with the server (see cores srv/load).',
        'Start-up and CLI rows (scenarios 7, 8) time spawned processes of the built tree; p50/p99 are over runs, in ms.',
      ],
      results,
      targets,
      ...(experiments ? { experiments } : {}),
    },
    { complete, plot: options.plot },
  );
  if (results.some((r) => r.errors > 0)) process.exitCode = 1;
}
