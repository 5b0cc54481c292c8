/**
 * The published declarations as a consumer's TypeScript sees them (module and moduleResolution
 * nodenext, strict), against the workspace's build (`tsc -b`, which `pnpm test` runs first):
 * the idioms compile from an ES module and from CommonJS (`using`, `await using`, typed events,
 * close options, signals), and every wrong call in types-wrong-calls.mts is rejected (each line
 * carries `@ts-expect-error`, so a call that compiled would fail the check with TS2578).
 * test/install/run.sh checks the same files from the packed packages.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, workspaceConsumerDir } from './helpers';

const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
let dir: string;

beforeAll(() => {
  dir = workspaceConsumerDir('riopool-consumer-types-');
  for (const f of ['types-idioms.mts', 'types-idioms.cts', 'types-wrong-calls.mts', 'types-wrong.mts']) {
    fs.copyFileSync(path.join(ROOT, 'test/install', f), path.join(dir, f));
  }
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "consumer", "private": true }\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function tsc(...files: string[]): { status: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    [TSC, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--noEmit', '--skipLibCheck'].concat(
      ['--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules/@types')],
      files,
    ),
    { cwd: dir, encoding: 'utf8' },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the idioms type-check as an ES module and as CommonJS', () => {
  const r = tsc('types-idioms.mts', 'types-idioms.cts');
  expect(r.out).toBe('');
  expect(r.status).toBe(0);
});

test('every wrong call is rejected (an unused @ts-expect-error would fail with TS2578)', () => {
  const r = tsc('types-wrong-calls.mts');
  expect(r.out).toBe('');
  expect(r.status).toBe(0);
});

test('and the types are really found: a wrong call without the directive fails', () => {
  const r = tsc('types-wrong.mts');
  expect(r.status).not.toBe(0);
  expect(r.out).toContain('error TS2345');
});
