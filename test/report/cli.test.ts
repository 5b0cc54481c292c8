/**
 * The riopool command line's conventions, as node:util.parseArgs users expect them: help and the
 * version on stdout with exit 0, bad usage on stderr with exit 2, and `--json` alone on stdout
 * (also through the repository's `pnpm -s report`). The CLI runs in a child process, as a user
 * runs it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { spawnNode } from '../support';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'packages/pool/dist/cli/main.js');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/pool/package.json'), 'utf8')).version;
const cli = (args: string[]) => spawnNode([CLI, ...args]);

/** The commands `riopool --help` lists (so a new command cannot skip these tests). */
function commands(): string[] {
  const usage = cli(['--help']).stdout;
  const section = usage.slice(usage.indexOf('commands:'), usage.indexOf('options:'));
  return [...section.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

test.each([[[]], [['--help']], [['-h']], [['help']]])('riopool %j prints the usage on stdout and exits 0', (args) => {
  const out = cli(args);
  expect(out.status).toBe(0);
  expect(out.stderr).toBe('');
  expect(out.stdout).toMatch(/^usage: riopool <command> \[options\]/);
  expect(out.stdout).toMatch(/-v, --version/);
});

test('riopool --help lists the report command', () => {
  expect(commands()).toEqual(['report']);
});

describe.each(commands())('riopool %s', (command) => {
  test.each([
    [[command, '--help']],
    [[command, '-h']],
    [['help', command]],
    [['--help', command]],
    [[command, '--no-such-option', '--help']], // help wins over the rest of the line
  ])('%j prints its usage on stdout and exits 0', (args) => {
    const out = cli(args);
    expect(out.status).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(new RegExp(`^usage: riopool ${command} \\[options\\]`));
    expect(out.stdout).toMatch(/-h, --help/);
  });

  test('an unknown option exits 2 naming it, with the usage on stderr and nothing on stdout', () => {
    const out = cli([command, '--no-such-option']);
    expect(out.status).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(
      new RegExp(`^riopool: unknown option '--no-such-option' for riopool ${command} \\(riopool ${command} --help lists them\\)`),
    );
    expect(out.stderr).toMatch(new RegExp(`usage: riopool ${command}`));
  });
});

test.each([[['--version']], [['-v']]])('riopool %j prints the package version and exits 0', (args) => {
  const out = cli(args);
  expect(out.status).toBe(0);
  expect(out.stderr).toBe('');
  expect(out.stdout).toBe(`${VERSION}\n`);
});

test.each([
  [['frobnicate'], /^riopool: unknown command 'frobnicate'/],
  [['--frobnicate'], /^riopool: unknown option '--frobnicate' for riopool /],
  [['help', 'frobnicate'], /^riopool: no command 'frobnicate' to help with/],
  [['report', 'extra'], /^riopool: unexpected argument 'extra' for riopool report/],
  [['report', '--', '--help'], /^riopool: unexpected argument '--help' for riopool report/], // after --, not an option
  [['report', '--buffers'], /^riopool: Option '--buffers <value>' argument missing/],
])('bad usage %j exits 2 with a clear message', (args, message) => {
  const out = cli(args);
  expect(out.status).toBe(2);
  expect(out.stdout).toBe('');
  expect(out.stderr).toMatch(message);
  expect(out.stderr).toMatch(/usage: riopool/);
});

test('riopool report --json prints one JSON document alone on stdout', () => {
  const out = cli(['report', '--json', '--buffers', '300']);
  expect(out.status).toBe(0);
  expect(out.stderr).toBe('');
  expect(JSON.parse(out.stdout)).toHaveProperty('schema', 'riopool-report/1'); // the whole of stdout parses
});

test('from the repository root, `pnpm -s report --json` pipes into JSON.parse', () => {
  const parse = `node -e "const r = JSON.parse(require('fs').readFileSync(0, 'utf8')); console.log(r.schema, r.workload.buffers)"`;
  const out = spawnSync('sh', ['-c', `pnpm -s report --json --buffers 300 | ${parse}`], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  expect(out.stdout).toBe('riopool-report/1 300\n');
});
