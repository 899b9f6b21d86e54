import { randomBytes } from 'node:crypto';

import { Pool } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

import { hashToken } from '../src/modules/token/token.service';
import { AccessPolicy } from '../src/modules/access/access-policy';
import { startBaselineServer, type BaselineServer } from './baseline';
import { openBenchDatabase, type BenchDatabase } from './database';
import { LoadClient } from './load-client';
import { log } from './log';
import { Measurer, type Endpoint } from './measure';
import type { Options, Plan } from './plan';
import { AllocationProfiler, Profiler } from './profiler';
import type { ScenarioResult } from './report';
import { seedScope, shapeOf, type SeededScope } from './seed';
import { startServer, type RunningServer } from './server';
import { DbCpuMeter, GcMeter, RssSampler } from './system';

/*
 * What the scenarios share during one run: the database, the real server in
 * this process, the baseline beside it on its own pg Pool, the load
 * generator, the meters, and the rows measured so far. Scenarios that
 * restart the server or spawn processes run after stopServing().
 */

/** Requests the in-process servers while they serve (stopServing() ends that). */
export interface Serving {
  readonly server: RunningServer;
  readonly baseline: BaselineServer;
  /** The real server: its URL and TypeORM's statement count (database.observer). */
  readonly product: Endpoint;
  /** The baseline: its URL and its own statement count. */
  readonly floor: Endpoint;
  readonly measurer: Measurer;
}

export class BenchSession {
  readonly results: ScenarioResult[] = [];
  /** Environments created, deleted at the end when the database is someone else's. */
  readonly createdEnvironments: string[] = [];
  readonly runTag = randomBytes(3).toString('hex');
  readonly rss = new RssSampler();
  private readonly gc = new GcMeter();
  private readonly profiler: Profiler | undefined;
  private readonly allocations: AllocationProfiler | undefined;
  private serving: Serving | undefined;
  private baselinePool: Pool | undefined;
  private load: LoadClient | undefined;
  private readScopeSeeded: Promise<SeededScope> | undefined;
  private disposed = false;

  private constructor(
    readonly options: Options,
    readonly plan: Plan,
    readonly database: BenchDatabase,
    /** The server's settings (loadConfig's input). */
    readonly env: Record<string, string>,
    readonly adminToken: string,
  ) {
    this.profiler = options.profile ? new Profiler() : undefined;
    this.allocations = options.heapProfile ? new AllocationProfiler() : undefined;
  }

  static async open(options: Options, plan: Plan): Promise<BenchSession> {
    const database = await openBenchDatabase({ embedded: options.embedded, databaseUrl: process.env.DATABASE_URL });
    log(`database: ${database.description}`);
    const adminToken = `bench-admin-${randomBytes(24).toString('hex')}`;
    const env: Record<string, string> = {
      ...database.env,
      LOCAL_MASTER_KEYS: process.env.LOCAL_MASTER_KEYS ?? `bench-1:${randomBytes(32).toString('base64')}`,
      LOG_LEVEL: 'warn',
      BOOTSTRAP_ADMIN_TOKEN: adminToken,
      DB_POOL_SIZE: process.env.DB_POOL_SIZE ?? '10',
    };
    return new BenchSession(options, plan, database, env, adminToken);
  }

  /** Starts the real server and the baseline in this process, and the load generator beside them. */
  async startServing(): Promise<Serving> {
    const startup = performance.now();
    const server = await startServer(this.env);
    log(`server up in ${(performance.now() - startup).toFixed(0)} ms at ${server.url}`);
    const { container } = server;
    /* The baseline's own pg Pool; the embedded database takes one connection only, so there it shares the server's. */
    this.baselinePool =
      this.database.kind === 'embedded'
        ? ((container.database.dataSource.driver as PostgresDriver).master as Pool)
        : new Pool({ connectionString: this.database.url, max: container.config.dbPoolSize });
    const baseline = await startBaselineServer(this.baselinePool, container.keyring);
    const dbCpu = await DbCpuMeter.create(this.database.kind === 'embedded' ? undefined : this.baselinePool, this.database.url);
    this.load = new LoadClient();
    const measurer = new Measurer(this.plan, this.load, { rss: this.rss, gc: this.gc, dbCpu, profiler: this.profiler, allocations: this.allocations }, this.results);
    const observer = container.database.observer;
    this.serving = {
      server,
      baseline,
      product: { url: server.url, statements: () => observer.statements },
      floor: { url: baseline.url, statements: () => baseline.statements },
      measurer,
    };
    return this.serving;
  }

  get live(): Serving {
    if (!this.serving) throw new Error('the in-process servers are not running');
    return this.serving;
  }

  /** The 50-secret scope of the read and REST scenarios, seeded once through SecretService.upsert. */
  readScope(): Promise<SeededScope> {
    this.readScopeSeeded ??= this.seed(`bench ${this.runTag} read`, this.plan.restSize, false);
    return this.readScopeSeeded;
  }

  /** An environment and space whose effective list has `size` names (bulk-inserted when `bulk`). */
  async seed(label: string, size: number, bulk: boolean): Promise<SeededScope> {
    const scope = await seedScope(this.live.server.container, label, shapeOf(size), { bulk });
    this.createdEnvironments.push(scope.environmentId);
    return scope;
  }

  /** Fresh planner statistics once seeding is done (not for the embedded database, whose one connection the server holds). */
  async analyze(): Promise<void> {
    if (this.database.kind !== 'embedded' && this.baselinePool) await this.baselinePool.query('ANALYZE');
  }

  /** Stops the baseline, the load generator and the server (the embedded database has one owner: restarts need it free). */
  async stopServing(): Promise<void> {
    const serving = this.serving;
    this.serving = undefined;
    this.load?.close();
    this.load = undefined;
    await serving?.baseline.close().catch(() => undefined);
    if (this.baselinePool && this.database.kind !== 'embedded') await this.baselinePool.end().catch(() => undefined);
    this.baselinePool = undefined;
    await serving?.server.close().catch((error: unknown) => log(`closing the server: ${String(error)}`));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.stopServing();
    if (this.database.kind === 'external') await this.cleanUpExternal();
    await this.database.dispose().catch((error: unknown) => log(`disposing of the database: ${String(error)}`));
    this.profiler?.close();
    this.allocations?.close();
    this.rss.stop();
    this.gc.stop();
  }

  /** With someone else's DATABASE_URL: delete the bench's environments (spaces, secrets, tokens cascade) and revoke its admin token. */
  private async cleanUpExternal(): Promise<void> {
    let server: RunningServer | undefined;
    try {
      server = await startServer(this.env);
      for (const id of this.createdEnvironments) await server.container.environments.delete(AccessPolicy.system, id).catch(() => undefined);
      const rows: { id: string }[] = await server.container.database.dataSource.query('SELECT id FROM api_token WHERE token_hash = $1', [hashToken(this.adminToken)]);
      for (const { id } of rows) await server.container.tokens.revoke(AccessPolicy.system, id);
    } catch (error) {
      log(`cleaning up the external database: ${String(error)}`);
    } finally {
      await server?.close();
    }
  }
}
