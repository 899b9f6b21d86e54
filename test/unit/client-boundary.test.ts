import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import ts from 'typescript';

/*
 * Listeners install the client without the server: at run time it may load
 * nothing but its own files (and Node's built-ins). Type-only imports are
 * erased by the compiler, so the generated file's one type import is fine.
 * Live mode alone loads two packages, graphql-ws's client half and ws, and
 * only on first use (import()), so a client without it loads neither.
 */
const clientDir = path.join(__dirname, '..', '..', 'src', 'client');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : []; // a .d.ts emits no code
  });
}

const LIVE_MODE_FILE = 'live-feed.ts';
const LIVE_MODE_PACKAGES = ['graphql-ws/client', 'ws'];

/** Module specifiers a file loads at run time: value imports and re-exports, require() and import() (`lazy`). */
function runtimeImports(file: string): { specifier: string; lazy: boolean }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: { specifier: string; lazy: boolean }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      const named = node.importClause?.namedBindings;
      const allTypes =
        node.importClause && !node.importClause.name && named && ts.isNamedImports(named) && named.elements.every((e) => e.isTypeOnly);
      if (!allTypes) found.push({ specifier: (node.moduleSpecifier as ts.StringLiteral).text, lazy: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      found.push({ specifier: (node.moduleSpecifier as ts.StringLiteral).text, lazy: false });
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      const [arg] = node.arguments;
      const lazy = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      found.push({ specifier: arg && ts.isStringLiteral(arg) ? arg.text : '<computed>', lazy });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('src/client', () => {
  const files = sourceFiles(clientDir);

  it('has the files this test is meant to check', () => {
    expect(files.map((f) => path.relative(clientDir, f))).toEqual(expect.arrayContaining(['index.ts', path.join('generated', 'graphql.ts')]));
  });

  it.each(files.map((f) => [path.relative(clientDir, f), f]))('%s loads only client files at run time', (name, file) => {
    const outside = runtimeImports(file).filter(({ specifier, lazy }) => {
      if (specifier.startsWith('node:')) return false;
      if (!specifier.startsWith('.')) return !(name === LIVE_MODE_FILE && lazy && LIVE_MODE_PACKAGES.includes(specifier));
      const target = path.resolve(path.dirname(file), specifier);
      return path.relative(clientDir, target).startsWith('..');
    });
    expect(outside).toEqual([]);
  });

  it(`loads live mode's packages lazily, in ${LIVE_MODE_FILE} only`, () => {
    const packages = runtimeImports(path.join(clientDir, LIVE_MODE_FILE)).filter(({ specifier }) => !specifier.startsWith('.'));
    expect(packages).toEqual(expect.arrayContaining(LIVE_MODE_PACKAGES.map((specifier) => ({ specifier, lazy: true }))));
    expect(packages).toHaveLength(LIVE_MODE_PACKAGES.length);
  });
});
