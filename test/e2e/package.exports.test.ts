import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { SUBPATHS } from '../../scripts/package-weight.js';

// The public surface is deliberate: every name each subpath exports (values and types), listed
// in docs/public-api.txt. A change to the surface fails here until that file is updated with it
// (`vitest run test/e2e/package.exports.test.ts -u`), so it shows in review and in the CHANGELOG.

const ROOT = join(import.meta.dirname, '../..');

/** `export type { X }`: only X's type is public, whatever X is */
const typeOnly = (s: ts.Symbol): boolean => (s.declarations ?? []).some((d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly));

const kindOf = (checker: ts.TypeChecker, s: ts.Symbol): string => {
  if (typeOnly(s)) return 'type';
  const t = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
  const f = t.flags;
  const value =
    f & ts.SymbolFlags.Class
      ? 'class'
      : f & ts.SymbolFlags.Function
        ? 'function'
        : f & ts.SymbolFlags.Enum
          ? 'enum'
          : f & ts.SymbolFlags.Value
            ? 'const'
            : undefined;
  const type = f & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias) ? 'type' : undefined;
  return [value, type].filter(Boolean).join(' + ') || 'unknown';
};

/** Each subpath's exports as `kind name` lines, sorted by name. */
const surface = (): string => {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const files = Object.values(SUBPATHS).map((f) => join(ROOT, f));
  const program = ts.createProgram(files, parsed!.options);
  const checker = program.getTypeChecker();
  const blocks: string[] = [];
  for (const [subpath, file] of Object.entries(SUBPATHS)) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(join(ROOT, file))!)!;
    const lines = checker
      .getExportsOfModule(module)
      .map((s) => `  ${kindOf(checker, s)} ${s.name}`)
      .sort((a, b) => a.slice(a.lastIndexOf(' ')).localeCompare(b.slice(b.lastIndexOf(' '))));
    blocks.push(`${subpath === '.' ? 'customer360-core' : `customer360-core/${subpath.slice(2)}`}\n${lines.join('\n')}`);
  }
  return `${blocks.join('\n\n')}\n`;
};

describe('the public surface', () => {
  it("package.json's exports are the subpaths built from src/public, each with its types", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; types: string };
    const expected = Object.fromEntries(
      Object.entries(SUBPATHS).map(([subpath, file]) => {
        const out = file.replace(/^src\//, './lib/').replace(/\.ts$/, '');
        return [subpath, { types: `${out}.d.ts`, import: `${out}.js` }];
      }),
    );
    expect(pkg.exports).toEqual({ ...expected, './package.json': './package.json' });
    expect(pkg.types).toBe('./lib/public/index.d.ts');
  });

  it("README's embedding example is the user Lambda that test/e2e/package.test.ts bundles and runs", () => {
    const handler = readFileSync(join(ROOT, 'test/fixtures/user-project/src/handler.ts'), 'utf8');
    const code = handler.replace(/^(\/\/.*\n)+/, '');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${code}\`\`\``);
    expect(code.split('\n').length).toBeLessThanOrEqual(35);
  });

  it("README's testing example is the user project's rules.spec.ts, which test/e2e/package.test.ts type-checks", () => {
    const spec = readFileSync(join(ROOT, 'test/fixtures/user-project/rules.spec.ts'), 'utf8');
    const code = spec.replace(/^(\/\/.*\n)+/, '');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${code}\`\`\``);
    // and every ts and js block of the Embedding section is one the user project holds
    const embedding = readme.slice(readme.indexOf('## Embedding'), readme.indexOf('## CLI'));
    const blocks = [...embedding.matchAll(/```(?:ts|js)\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const project = ['src/handler.ts', 'build.mjs', 'rules.spec.ts'].map((f) =>
      readFileSync(join(ROOT, 'test/fixtures/user-project', f), 'utf8').replace(/^(\/\/.*\n)+/, ''),
    );
    expect(blocks.length).toBe(project.length);
    for (const block of blocks) expect(project, block.slice(0, 80)).toContain(block);
  });

  it("README's build script is the one test/e2e/package.test.ts bundles that Lambda with (the tarball ships no fixtures to point at)", () => {
    const build = readFileSync(join(ROOT, 'test/fixtures/user-project/build.mjs'), 'utf8');
    const code = build.replace(/^(\/\/.*\n)+/, '');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${code}\`\`\``);
    // the README names no file of the repository's tests as something to use
    const embedding = readme.slice(readme.indexOf('## Embedding'), readme.indexOf('## CLI'));
    expect(embedding).not.toMatch(/as `test\/fixtures\/[^`]+` does/);
  });

  it('every exported name of every subpath is the one docs/public-api.txt lists', async () => {
    await expect(surface()).toMatchFileSnapshot('../../docs/public-api.txt');
  }, 120_000);
});
