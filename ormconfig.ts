import 'reflect-metadata';

import { loadConfig } from './src/config';
import { createDataSource } from './src/db/database';

/*
 * The one TypeORM DataSource definition, for TypeORM's own CLI against an
 * external database, e.g. `npx typeorm -d dist/ormconfig.js migration:show`
 * (after `npm run build`). The server and tests build theirs through
 * createDataSource too, and run migrations at start-up; the embedded
 * database is migrated by starting the server.
 */
const config = loadConfig();
if (!config.databaseUrl) {
  throw new Error('ormconfig needs DATABASE_URL: the embedded database is migrated by starting the server');
}

export default createDataSource({ url: config.databaseUrl }, 1);
