import 'reflect-metadata';

import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { renderSchema } from '../src/graphql/schema-sdl';

/** `npm run schema`: writes schema.graphql from the code. Needs no database. */
const target = path.resolve(__dirname, '..', '..', 'schema.graphql');
writeFileSync(process.argv[2] ?? target, renderSchema());
process.stdout.write(`wrote ${process.argv[2] ?? target}\n`);
