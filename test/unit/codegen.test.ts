import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/*
 * The committed client types must be what codegen makes from the committed
 * schema.graphql and operations: run the project's codegen config into a
 * temporary directory (local files only, no network) and compare each
 * output byte for byte with the committed one.
 */
describe('src/client/generated', () => {
  let outDir: string;
  beforeAll(() => {
    outDir = mkdtempSync(path.join(tmpdir(), 'secretspace-codegen-'));
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('matches a fresh codegen run (run `npm run codegen` after changing schema.graphql or an operation)', () => {
    const script = path.join(__dirname, '..', 'support', 'codegen-into.cjs');
    const pairs: Record<string, string> = JSON.parse(execFileSync(process.execPath, [script, outDir], { encoding: 'utf8' }));
    const committed = Object.keys(pairs);
    expect(committed.map((file) => path.relative(path.join(__dirname, '..', '..'), file))).toContain(
      path.join('src', 'client', 'generated', 'graphql.ts'),
    );
    for (const file of committed) {
      expect({ file, content: readFileSync(file, 'utf8') }).toEqual({ file, content: readFileSync(pairs[file], 'utf8') });
    }
  });
});
