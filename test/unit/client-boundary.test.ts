import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import ts from 'typescript';

/*
 * Listeners install the client without the server: at run time it may load
 * nothing but its own files (and Node's built-ins). Type-only imports are
 * erased by the compiler, so the generated file's one type import is fine.
 */
const clientDir = path.join(__dirname, '..', '..', 'src', 'client');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Module specifiers a file loads at run time: value imports and re-exports, require() and import(). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      const named = node.importClause?.namedBindings;
      const allTypes =
        node.importClause && !node.importClause.name && named && ts.isNamedImports(named) && named.elements.every((e) => e.isTypeOnly);
      if (!allTypes) found.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      found.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      const [arg] = node.arguments;
      found.push(arg && ts.isStringLiteral(arg) ? arg.text : '<computed>');
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

  it.each(files.map((f) => [path.relative(clientDir, f), f]))('%s loads only client files at run time', (_name, file) => {
    const outside = runtimeImports(file).filter((specifier) => {
      if (specifier.startsWith('node:')) return false;
      if (!specifier.startsWith('.')) return true; // a package: the client has no dependencies
      const target = path.resolve(path.dirname(file), specifier);
      return path.relative(clientDir, target).startsWith('..');
    });
    expect(outside).toEqual([]);
  });
});
