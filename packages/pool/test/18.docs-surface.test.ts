/**
 * docs/api.md's export lists against the packages, both ways, for every entry point: each
 * section's `Values:` line names exactly what the entry point exports at run time, and its
 * `Types:` line exactly the type-only exports (what TypeScript sees exported, minus the values).
 * A name the page lists and the package lacks fails as surely as an export the page omits.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');
const API = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');

/** The section of docs/api.md whose heading starts with `heading` (up to the next `## `). */
function section(heading: string): string {
  const start = API.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`docs/api.md has no section "${heading}"`);
  const end = API.indexOf('\n## ', start + 4);
  return API.slice(start, end < 0 ? undefined : end);
}

/** The backticked names of the paragraph that starts with `label` (up to a blank line). */
function listed(text: string, label: 'Values:' | 'Types:'): string[] {
  const start = text.indexOf(`\n${label}`);
  if (start < 0) throw new Error(`no "${label}" paragraph`);
  const end = text.indexOf('\n\n', start + 1);
  return [...text.slice(start, end < 0 ? undefined : end).matchAll(/`(\w+)`/g)].map((m) => m[1]!).sort();
}

const ENTRY_POINTS = [
  { name: '@riopool/pool', heading: 'Exports', source: 'packages/pool/src/index.ts' },
  { name: '@riopool/pool/testing', heading: 'Testing', source: 'packages/pool/src/testing/index.ts' },
  { name: '@riopool/pool/report', heading: 'Footprint reports', source: 'packages/pool/src/cli/report.ts' },
] as const;

/** Every name each entry point exports, values and types, as TypeScript sees it. */
function typeScriptExports(): Map<string, string[]> {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    strict: true,
    noEmit: true,
    types: ['node'],
  };
  const program = ts.createProgram(
    ENTRY_POINTS.map((e) => path.join(ROOT, e.source)),
    options,
  );
  const checker = program.getTypeChecker();
  const out = new Map<string, string[]>();
  for (const e of ENTRY_POINTS) {
    const file = program.getSourceFile(path.join(ROOT, e.source))!;
    const symbol = checker.getSymbolAtLocation(file)!;
    out.set(
      e.name,
      checker
        .getExportsOfModule(symbol)
        .map((s) => s.getName())
        .sort(),
    );
  }
  return out;
}

const exported = typeScriptExports();

describe.each(ENTRY_POINTS)('$name', ({ name, heading }) => {
  // The entry point's module as jest maps it (jest.config.js: the package's sources).
  const runtime = require(name) as object;
  const values = Object.keys(runtime).sort();
  const text = section(heading);

  test('its Values: line names exactly the run-time exports', () => {
    expect(listed(text, 'Values:')).toEqual(values);
  });

  test('its Types: line names exactly the type-only exports', () => {
    const types = exported.get(name)!.filter((n) => !values.includes(n));
    expect(listed(text, 'Types:')).toEqual(types);
  });
});

test('no entry point exports a name twice under the lists (a value listed as a type, or the reverse)', () => {
  for (const { heading } of ENTRY_POINTS) {
    const text = section(heading);
    const both = listed(text, 'Values:').filter((n) => listed(text, 'Types:').includes(n));
    expect(both).toEqual([]);
  }
});

test('every warning code the sources emit is a RiopoolWarningCodes entry, and docs/api.md names each', () => {
  const { RiopoolWarningCodes } = require('@riopool/pool') as typeof import('@riopool/pool');
  const src = path.join(ROOT, 'packages/pool/src');
  const emitted = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/'(RIOPOOL_[A-Z_]+)'/g)) emitted.add(m[1]!);
    }
  };
  walk(src);
  emitted.delete('RIOPOOL_DEP_LEASE_BUF'); // a DeprecationWarning, not a RiopoolWarning
  expect([...emitted].filter((c) => !(RiopoolWarningCodes as readonly string[]).includes(c))).toEqual([]);
  expect(RiopoolWarningCodes.filter((c) => !API.includes(`\`${c}\``))).toEqual([]);
});
