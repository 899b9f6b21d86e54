import { readFileSync } from 'node:fs';
import path from 'node:path';

import { renderSchema } from '../../src/graphql/schema-sdl';

describe('schema.graphql', () => {
  it('is the schema the code builds (run `npm run schema` after changing the API)', () => {
    const committed = readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(committed).toBe(renderSchema());
  });

  it('is stable: two renders are identical', () => {
    expect(renderSchema()).toBe(renderSchema());
  });
});
