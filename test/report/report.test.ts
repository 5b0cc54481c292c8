/**
 * `riopool report`: both strategies measured against the real kernel in one run.
 * The CLI runs in a child process, as a user runs it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import Ajv from 'ajv';
import { runReport, heldBytes } from '@riopool/pool/report';
import { canDropPrivileges, isLinux, spawnNode } from '../support';

const CLI = path.resolve(__dirname, '../../packages/pool/dist/cli/main.js');
const SCHEMA = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../docs/report.schema.json'), 'utf8'));
function cli(args: string[], asNobody = false) {
  return spawnNode([CLI, ...args], { asNobody });
}

const linux = isLinux ? describe : describe.skip;

linux('the default workload, 10,000 × 512 B', () => {
  const r = runReport({ buffers: 10000, size: '512', backend: 'uring' });
  const slab = heldBytes(r.strategies.slab, 'uring')!;
  const perBuffer = heldBytes(r.strategies.perBuffer, 'uring')!;

  test('slab pins at most 1.1× the ideal', () => {
    expect(r.strategies.slab.error).toBeNull();
    expect(slab / r.idealBytes).toBeLessThanOrEqual(1.1);
    expect(r.ratios.slabOverIdeal).toBeCloseTo(slab / r.idealBytes);
  });

  test('per-buffer registration pins at least 7× the slab figure', () => {
    expect(r.strategies.perBuffer.error).toBeNull();
    expect(perBuffer / slab).toBeGreaterThanOrEqual(7);
    expect(r.strategies.perBuffer.registrations).toBe(10000);
  });

  test('the model predicts what the kernel measured', () => {
    expect(r.strategies.slab.modelBytes).toBe(slab);
    expect(r.strategies.perBuffer.modelBytes).toBe(perBuffer);
  });
});

linux('20,000 × 512 B', () => {
  test('per-buffer reports the registration limit as its error; slab succeeds', () => {
    const r = runReport({ buffers: 20000, size: '512', backend: 'uring' });
    expect(r.strategies.perBuffer.error?.code).toBe('ERR_RIO_TOO_MANY_REGISTRATIONS');
    expect(r.strategies.perBuffer.completedBuffers).toBe(16384);
    expect(r.strategies.slab.error).toBeNull();
    expect(r.strategies.slab.completedBuffers).toBe(20000);
  });
});

(canDropPrivileges ? test : test.skip)(
  'under the memlock limit (unprivileged): per-buffer reports ERR_RIO_MEMLOCK as a result, the slabs fit',
  () => {
    const out = cli(['report', '--json'], true);
    expect(out.status).toBe(0);
    const r = JSON.parse(out.stdout);
    expect(r.strategies.perBuffer.error.code).toBe('ERR_RIO_MEMLOCK');
    expect(r.strategies.perBuffer.error.message).toMatch(/RLIMIT_MEMLOCK/);
    expect(r.strategies.slab.error).toBeNull();
  },
);

(canDropPrivileges ? test : test.skip)('a backend that cannot even open (ulimit -l 0) is a result for both strategies, not a crash', () => {
  const script = `ulimit -l 0 && exec "$0" "$1" report --json --buffers 100`;
  const out = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', script, process.execPath, CLI], {
    encoding: 'utf8',
  });
  expect(out.status).toBe(0);
  const r = JSON.parse(out.stdout);
  expect(r.strategies.perBuffer.error.code).toBe('ERR_RIO_MEMLOCK');
  expect(r.strategies.slab.error.code).toBe('ERR_RIO_MEMLOCK');
  expect(r.strategies.perBuffer.completedBuffers).toBe(0);
});

test('--json validates against docs/report.schema.json', () => {
  const out = cli(['report', '--buffers', '500', '--size', 'mixed', '--json']);
  expect(out.status).toBe(0);
  const validate = new Ajv({ allErrors: true }).compile(SCHEMA);
  const report = JSON.parse(out.stdout);
  expect(validate.errors ?? validate(report)).toBe(true);
  expect(report.strategies.perBuffer).toHaveProperty('error', null);
  // And a report that holds an error validates too.
  const failing = runReport({ buffers: 20000, size: '512' });
  expect(validate(JSON.parse(JSON.stringify(failing)))).toBe(true);
});

test('the table names both strategies and the ratios', () => {
  const out = cli(['report', '--buffers', '2000']);
  expect(out.status).toBe(0);
  expect(out.stdout).toMatch(/per-buffer\s+slab \(riopool\)/);
  expect(out.stdout).toMatch(/registrations\s+2,000\s+16/);
  if (isLinux) expect(out.stdout).toMatch(/holds [\d.]+× the memory of the slabs/);
  expect(out.stderr).toBe(''); // no progress bar when stderr is not a terminal
});

test('--sweep writes an SVG and an HTML page with both lines', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'riopool-'));
  const svg = path.join(dir, 'sweep.svg');
  const html = path.join(dir, 'sweep.html');
  const out = cli(['report', '--sweep', '500,1000,2000', '--svg', svg, '--html', html]);
  expect(out.status).toBe(0);
  expect(out.stdout.trim().split('\n')).toHaveLength(4);
  const s = fs.readFileSync(svg, 'utf8');
  expect(s.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(s).toMatch(/class="series-perBuffer"/);
  expect(s).toMatch(/class="series-slab"/);
  expect(s.trim().endsWith('</svg>')).toBe(true);
  const h = fs.readFileSync(html, 'utf8');
  expect(h).toMatch(/<!doctype html>/);
  expect(h).toContain('<svg');
  expect(h.match(/<tr><td>/g)).toHaveLength(3);
});

test.each([
  [['report', '--buffers', '0']],
  [['report', '--buffers', 'many']],
  [['report', '--size', 'huge']],
  [['report', '--backend', 'rdma']],
  [['report', '--svg', 'x.svg']],
  [['frobnicate']],
])('bad usage %j exits 2 with the usage text', (args) => {
  const out = cli(args);
  expect(out.status).toBe(2);
  expect(out.stderr).toMatch(/usage: riopool report/);
});
