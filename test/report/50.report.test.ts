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
function cli(args: string[], asNobody = false, memlockBytes?: number) {
  return spawnNode([CLI, ...args], { asNobody, ...(memlockBytes === undefined ? {} : { memlockBytes }) });
}
const MiB = 1024 * 1024;
/** The hard RLIMIT_MEMLOCK of this process in bytes (Infinity: unlimited): a child's limit can be set up to it. */
function memlockHard(): number {
  const line = fs
    .readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max locked memory'))!;
  const hard = line.trim().split(/\s+/)[4]!;
  return hard === 'unlimited' ? Infinity : Number(hard);
}
/** The KiB value the advice says to set with `ulimit -l`. */
const advisedKiB = (advice: string) => Number(/`ulimit -l (\d+)`/.exec(advice)?.[1]);

const linux = isLinux ? describe : describe.skip;

linux('the default workload, 10,000 × 512 B', () => {
  const r = runReport({ buffers: 10000, size: '512', backend: 'uring' });
  const slab = heldBytes(r.strategies.slab, 'uring')!;
  const perBuffer = heldBytes(r.strategies.perBuffer, 'uring')!;

  test('slab pins at most 1.1× the ideal', () => {
    expect(r.strategies.slab.error).toBeNull();
    expect(r.strategies.slab.stopped).toBeNull();
    expect(r.complete).toBe(true);
    expect(slab / r.idealBytes).toBeLessThanOrEqual(1.1);
    expect(r.ratios.slabOverIdeal).toBeCloseTo(slab / r.idealBytes);
  });

  test('per-buffer registration pins at least 7× the slab figure', () => {
    expect(r.strategies.perBuffer.error).toBeNull();
    expect(r.strategies.perBuffer.stopped).toBeNull();
    expect(perBuffer / slab).toBeGreaterThanOrEqual(7);
    expect(r.ratios.perBufferOverSlab).toBeCloseTo(perBuffer / slab);
    expect(r.strategies.perBuffer.registrations).toBe(10000);
  });

  test('the model predicts what the kernel measured', () => {
    expect(r.strategies.slab.modelBytes).toBe(slab);
    expect(r.strategies.perBuffer.modelBytes).toBe(perBuffer);
    expect(r.ratios.modelPerBufferOverSlab).toBeCloseTo(perBuffer / slab);
  });
});

linux('20,000 × 512 B', () => {
  test('per-buffer stops at the registration table, says so, and gives no ratio; slab succeeds', () => {
    const r = runReport({ buffers: 20000, size: '512', backend: 'uring' });
    expect(r.strategies.perBuffer.error?.code).toBe('ERR_RIO_TOO_MANY_REGISTRATIONS');
    expect(r.strategies.perBuffer.completedBuffers).toBe(16384);
    expect(r.strategies.perBuffer.stopped).toMatchObject({
      afterBuffers: 16384,
      ofBuffers: 20000,
      code: 'ERR_RIO_TOO_MANY_REGISTRATIONS',
      limit: 'io_uring fixed-buffer table',
      limitValue: 16384,
      limitUnit: 'registrations',
      fitsBuffers: 16000,
    });
    expect(r.strategies.perBuffer.stopped!.advice).toMatch(/cannot be raised/);
    expect(r.strategies.slab.error).toBeNull();
    expect(r.strategies.slab.stopped).toBeNull();
    expect(r.strategies.slab.completedBuffers).toBe(20000);
    expect(r.complete).toBe(false);
    expect(r.ratios.perBufferOverSlab).toBeNull();
    expect(r.ratios.modelPerBufferOverSlab).toBeGreaterThan(7);
  });
});

const unprivileged = canDropPrivileges ? describe : describe.skip;

unprivileged('as uid 65534 with the default 8 MiB RLIMIT_MEMLOCK', () => {
  // `setpriv --reuid=65534 ... prlimit --memlock=8388608 riopool report`: per-buffer registration
  // of 10,000 × 512 B needs 40,000 kB pinned and stops at about 2,027 buffers; the slabs fit.
  const json = () => cli(['report', '--json'], true, 8 * MiB);
  const text = () => cli(['report'], true, 8 * MiB);

  test('--json: which strategy stopped, after how many buffers, at which limit and value, how to raise it; no ratio', () => {
    const out = json();
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const r = JSON.parse(out.stdout);
    const a = r.strategies.perBuffer;
    expect(a.error.code).toBe('ERR_RIO_MEMLOCK');
    expect(a.stopped).toMatchObject({
      ofBuffers: 10000,
      code: 'ERR_RIO_MEMLOCK',
      limit: 'RLIMIT_MEMLOCK',
      limitValue: 8 * MiB,
      limitUnit: 'bytes',
    });
    // 8 MiB of 4 KiB pages, less the ring's own memory, which io_uring charges to the same limit.
    expect(a.stopped.afterBuffers).toBe(a.completedBuffers);
    expect(a.stopped.afterBuffers).toBeGreaterThan(1900);
    expect(a.stopped.afterBuffers).toBeLessThan(2048);
    expect(a.stopped.fitsBuffers).toBeLessThanOrEqual(a.stopped.afterBuffers);
    expect(a.stopped.advice).toMatch(/ulimit -l \d+/);
    expect(a.stopped.advice).toMatch(/LimitMEMLOCK=/);
    expect(a.stopped.advice).toMatch(/docker run --ulimit memlock=/);
    expect(advisedKiB(a.stopped.advice) * 1024).toBeGreaterThanOrEqual(a.modelBytes); // enough for all 10,000
    expect(r.strategies.slab.error).toBeNull();
    expect(r.strategies.slab.stopped).toBeNull();
    expect(r.complete).toBe(false);
    expect(r.ratios.perBufferOverSlab).toBeNull(); // 2,027 buffers against 10,000 is not a result
    expect(r.ratios.modelPerBufferOverSlab).toBeGreaterThan(7.5);
    const validate = new Ajv({ allErrors: true }).compile(SCHEMA);
    expect(validate(r) || validate.errors).toBe(true);
  });

  test('text: the headline says the strategy stopped, the limit and value, how to raise it, and gives no measured ratio', () => {
    const out = text();
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/per-buffer registration STOPPED at \d,\d{3} of 10,000 buffers: RLIMIT_MEMLOCK, 8,192 KiB\./);
    expect(out.stdout).toMatch(/No measured comparison/);
    expect(out.stdout).toMatch(/raise RLIMIT_MEMLOCK to at least [\d,]+ KiB/);
    expect(out.stdout).toMatch(/`ulimit -l \d+`/);
    expect(out.stdout).toMatch(/`riopool report --buffers \d+`/);
    expect(out.stdout).toMatch(/model only, not measured: .* 7\.\d\d× the slabs'/);
    expect(out.stdout).not.toMatch(/holds [\d.]+× the memory of the slabs/);
    expect(out.stdout).toMatch(/buffers set up\s+\d,\d{3} of 10,000\s+10,000/);
  });

  test('the advice works: at the limit it names, or with the buffers it says fit, the run completes', () => {
    // A 2 MiB limit and 1,000 buffers (the advice must fit under this machine's hard limit).
    const stopped = JSON.parse(cli(['report', '--json', '--buffers', '1000'], true, 2 * MiB).stdout);
    const stop = stopped.strategies.perBuffer.stopped;
    expect(stop).toMatchObject({ limit: 'RLIMIT_MEMLOCK', limitValue: 2 * MiB, ofBuffers: 1000 });
    const advised = advisedKiB(stop.advice) * 1024;
    expect(advised).toBeLessThanOrEqual(memlockHard());
    const raised = JSON.parse(cli(['report', '--json', '--buffers', '1000'], true, advised).stdout);
    expect(raised.complete).toBe(true);
    expect(raised.strategies.perBuffer.stopped).toBeNull();
    expect(raised.ratios.perBufferOverSlab).toBeGreaterThan(7);
    const fewer = JSON.parse(cli(['report', '--json', '--buffers', String(stop.fitsBuffers)], true, 2 * MiB).stdout);
    expect(fewer.complete).toBe(true);
    expect(fewer.ratios.perBufferOverSlab).toBeGreaterThan(7);
  });

  test('a backend that cannot even open (limit 0) is a result for both strategies, with the model and the advice', () => {
    const out = cli(['report', '--json', '--buffers', '100'], true, 0);
    expect(out.status).toBe(0);
    const r = JSON.parse(out.stdout);
    for (const s of [r.strategies.perBuffer, r.strategies.slab]) {
      expect(s.error.code).toBe('ERR_RIO_MEMLOCK');
      expect(s.completedBuffers).toBe(0);
      expect(s.stopped).toMatchObject({ afterBuffers: 0, ofBuffers: 100, limit: 'RLIMIT_MEMLOCK', limitValue: 0, fitsBuffers: 0 });
      expect(s.modelBytes).toBeGreaterThan(0); // what it would have held, so the advice covers it
      expect(advisedKiB(s.stopped.advice) * 1024).toBeGreaterThanOrEqual(s.modelBytes);
    }
    expect(r.ratios.perBufferOverSlab).toBeNull();
  });
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

test("the README's `pnpm report --sweep --svg chart.svg --html chart.html` leaves git status and the lint clean", () => {
  // pnpm runs the script in the repository root, so that is where the charts land.
  const root = path.resolve(__dirname, '../..');
  for (const name of ['chart.svg', 'chart.html']) {
    expect(spawnSync('git', ['check-ignore', '-q', name], { cwd: root }).status).toBe(0);
  }
  // The real files, under names of this run's own (the same patterns), linted as `pnpm lint` does.
  const names = [`riopool-test-${process.pid}.svg`, `riopool-test-${process.pid}.html`];
  try {
    const out = spawnSync(process.execPath, [CLI, 'report', '--sweep', '500,1000', '--svg', names[0]!, '--html', names[1]!], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out.status).toBe(0);
    expect(fs.readFileSync(path.join(root, names[0]!), 'utf8')).toMatch(/^<svg /);
    expect(spawnSync('git', ['status', '--porcelain', '--', ...names], { cwd: root, encoding: 'utf8' }).stdout).toBe('');
    const lint = spawnSync(path.join(root, 'node_modules/.bin/biome'), ['ci', '--colors=off', '.'], { cwd: root, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).not.toContain('riopool-test-');
    expect(lint.status).toBe(0);
    // And were they linted anyway, the chart has its accessible title.
    const a11y = spawnSync(
      path.join(root, 'node_modules/.bin/biome'),
      ['lint', '--colors=off', '--vcs-use-ignore-file=false', '--only=a11y/noSvgWithoutTitle', ...names],
      { cwd: root, encoding: 'utf8' },
    );
    expect(a11y.stdout + a11y.stderr).toMatch(/Checked 2 files/);
    expect(a11y.status).toBe(0);
  } finally {
    for (const name of names) fs.rmSync(path.join(root, name), { force: true });
  }
});

test('--svg and --html make the folder they write into', () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'riopool-')), 'charts', 'sweep');
  const out = cli(['report', '--sweep', '500', '--svg', path.join(dir, 'a.svg'), '--html', path.join(dir, 'a.html')]);
  expect(out.status).toBe(0);
  expect(fs.readdirSync(dir).sort()).toEqual(['a.html', 'a.svg']);
});

test.each([
  [['report', '--buffers', '0']],
  [['report', '--buffers', 'many']],
  [['report', '--size', 'huge']],
  [['report', '--backend', 'rdma']],
  [['report', '--svg', 'x.svg']],
])('bad usage %j exits 2 with the usage text', (args) => {
  const out = cli(args);
  expect(out.status).toBe(2);
  expect(out.stderr).toMatch(/usage: riopool report/);
});

test("the sweep chart draws a strategy's stop where it stopped (16,384 of 20,000 is drawn at 16,384)", () => {
  const { sweepSvg } = require('../../packages/pool/dist/cli/chart') as typeof import('../../packages/pool/src/cli/chart');
  const measured = runReport({ buffers: 100, size: '512' });
  const stopped = structuredClone(measured);
  stopped.workload.buffers = 20_000;
  stopped.strategies.perBuffer.completedBuffers = 16_384;
  stopped.strategies.perBuffer.error = { code: 'ERR_RIO_TOO_MANY_REGISTRATIONS', message: 'table full' };
  stopped.strategies.perBuffer.stopped = {
    afterBuffers: 16_384,
    ofBuffers: 20_000,
    code: 'ERR_RIO_TOO_MANY_REGISTRATIONS',
    limit: 'io_uring fixed-buffer table',
    limitValue: 16_384,
    limitUnit: 'registrations',
    advice: '',
    fitsBuffers: 16_000,
  };
  const svg = sweepSvg([measured, stopped]);
  // x runs from 90 (0 buffers) to 730 (20,000, the axis' end): 16,384 is at 90 + 640 × 16,384 / 20,000.
  const failed = /<g class="failed"><text[^>]*>✕ stopped at 16,384: io_uring fixed-buffer table<\/text><circle cx="([\d.]+)"/.exec(svg);
  expect(Number(failed?.[1])).toBeCloseTo(90 + (640 * 16_384) / 20_000, 3);
  expect(svg).toContain('KiB pinned (VmPin)');
  expect(svg).not.toMatch(/\bkB\b/);
});

test('the JSON names the model figure heldBytes: lockedBytes is only the measured VmLck delta', () => {
  const r = runReport({ buffers: 100, size: '512' });
  for (const s of [r.strategies.perBuffer, r.strategies.slab]) {
    expect(s.model).not.toHaveProperty('lockedBytes');
    expect(s.model.heldBytes).toBe(s.modelBytes);
    expect(s).toHaveProperty('lockedBytes');
  }
});
