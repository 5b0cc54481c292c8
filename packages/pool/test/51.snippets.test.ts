/**
 * Every ```ts block of README.md and docs/api.md, as written: extracted (not copied), each saved
 * as an ES module of its own in a consumer project whose node_modules link to the workspace's
 * packages (built by `tsc -b`, which `pnpm test` runs first) and to its fast-check, type-checked
 * together with module nodenext and strict, then run one by one with node: each must exit 0.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, workspaceConsumerDir } from './helpers';

const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const DOCS = ['README.md', 'docs/api.md'];

/** The ```ts blocks of a markdown file, each with the line it starts on. */
function blocks(file: string): { name: string; code: string }[] {
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const found: { name: string; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    found.push({ name: `${file.replace(/[/.]/g, '_')}_line${start}`, code: `${lines.slice(start, end).join('\n')}\nexport {};\n` });
    i = end;
  }
  return found;
}

const snippets = DOCS.flatMap(blocks);
let dir: string;

beforeAll(() => {
  dir = workspaceConsumerDir('riopool-snippets-');
  fs.symlinkSync(path.join(ROOT, 'node_modules/fast-check'), path.join(dir, 'node_modules/fast-check'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "snippets", "private": true, "type": "module" }\n');
  for (const s of snippets) fs.writeFileSync(path.join(dir, `${s.name}.mts`), s.code);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the pages have TypeScript blocks to check', () => {
  expect(snippets.length).toBeGreaterThanOrEqual(12);
});

test('every block type-checks (module nodenext, strict) and compiles', () => {
  const r = spawnSync(
    process.execPath,
    [TSC, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck'].concat(
      ['--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules/@types'), '--outDir', 'out'],
      snippets.map((s) => `${s.name}.mts`),
    ),
    { cwd: dir, encoding: 'utf8' },
  );
  expect(`${r.stdout}${r.stderr}`).toBe('');
  expect(r.status).toBe(0);
});

test.each(snippets.map((s) => s.name))('%s runs and exits 0', (name) => {
  const file = path.join(dir, 'out', `${name}.mjs`);
  expect(fs.existsSync(file)).toBe(true);
  const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 50_000 });
  expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({
    status: 0,
    signal: null,
    stderr: expect.not.stringMatching(/Error|Warning/),
  });
});
