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
  [['report', '--buffers'], /^riopool: --buffers needs a value \(riopool report --help says which\)\n/],
  [['report', '--buffers', '-5'], /^riopool: --buffers -5: an integer from 1 to 10,000,000\n/],
  [['report', '--buffers=-5'], /^riopool: --buffers -5: an integer from 1 to 10,000,000\n/],
  [['report', '--seed', '-1.5'], /^riopool: --seed -1.5: an integer\n/],
  [['report', '--json=yes'], /^riopool: --json takes no value\n/],
])('bad usage %j exits 2 with a clear message', (args, message) => {
  const out = cli(args);
  expect(out.status).toBe(2);
  expect(out.stdout).toBe('');
  expect(out.stderr).toMatch(message);
  expect(out.stderr).toMatch(/usage: riopool/);
});

test('bad usage is said in the CLI\'s words, never parseArgs\' (no "ambiguous", no "Did you forget", no "<value>")', () => {
  for (const args of [['--buffers'], ['--buffers', '-5'], ['--seed', '-x'], ['--size'], ['--json=1'], ['--sweep=1']]) {
    const out = cli(['report', ...args]);
    expect(out.status).toBe(2);
    expect(out.stderr).not.toMatch(/ambiguous|Did you forget|<value>|Option '/);
  }
});

test('a negative seed is a seed (joined to its option, not taken for one)', () => {
  const out = cli(['report', '--buffers', '10', '--size', '64-128', '--seed', '-3', '--json']);
  expect(out.status).toBe(0);
  expect(JSON.parse(out.stdout).workload.seed).toBe(-3);
});

test('a report that could not run exits 1: the report on stdout, the reason on stderr', () => {
  // rio is only built on Windows; elsewhere neither strategy can open it.
  const backend = process.platform === 'win32' ? 'uring' : 'rio';
  for (const extra of [[], ['--json'], ['--sweep', '10,20']]) {
    const out = cli(['report', '--backend', backend, '--buffers', '10', ...extra]);
    expect(out.status).toBe(1);
    expect(out.stdout).not.toBe('');
    expect(out.stderr).toMatch(
      /^riopool: per-buffer could not run: .*\(ERR_RIO_BACKEND\)\nriopool: slab could not run: .*\(ERR_RIO_INVALID_OPTION\)\n$/,
    );
  }
});

test('riopool report prints bytes in KiB, never kB', () => {
  const out = cli(['report', '--buffers', '100']);
  expect(out.status).toBe(0);
  expect(out.stdout).toMatch(/\(50 KiB requested\)/);
  expect(out.stdout).not.toMatch(/\bkB\b/);
});

test('riopool report --json prints one JSON document alone on stdout', () => {
  const out = cli(['report', '--json', '--buffers', '300']);
  expect(out.status).toBe(0);
  expect(out.stderr).toBe('');
  expect(JSON.parse(out.stdout)).toHaveProperty('schema', 'riopool-report/2'); // the whole of stdout parses
});

test('from the repository root, `pnpm -s report --json` pipes into JSON.parse', () => {
  const parse = `node -e "const r = JSON.parse(require('fs').readFileSync(0, 'utf8')); console.log(r.schema, r.workload.buffers)"`;
  const out = spawnSync('sh', ['-c', `pnpm -s report --json --buffers 300 | ${parse}`], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  expect(out.stdout).toBe('riopool-report/2 300\n');
});
