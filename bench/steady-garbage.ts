/**
 * Scenario 2: steady-state garbage. 10 million acquire/release pairs of 512 B on each path,
 * against Buffer.allocUnsafe(512); heap growth (after a full GC) and the number and time of
 * GCs during the loop. Floor: no heap growth in steady state on the low-level path.
 * Run with --expose-gc (run-all does).
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { createPool } from '@riopool/pool';
import { header } from './support';

const PAIRS = Number(process.env.PAIRS ?? 10_000_000);
const gc = (globalThis as { gc?: () => void }).gc;

async function run(name: string, loop: () => number): Promise<string> {
  loop(); // warm up: the JIT, and the pool's first slab
  gc?.();
  await new Promise((r) => setImmediate(r));
  const entries: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const sink = loop();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await new Promise((r) => setTimeout(r, 50)); // let the observer deliver
  obs.disconnect();
  gc?.();
  const growth = process.memoryUsage().heapUsed - before;
  const gcMs = entries.reduce((s, e) => s + e.duration, 0);
  return `| ${name.padEnd(32)} | ${ms.toFixed(0).padStart(6)} | ${String(entries.length).padStart(5)} | ${gcMs.toFixed(1).padStart(7)} | ${(growth / 1024).toFixed(1).padStart(9)} |${sink === 42 ? ' ' : ''}`;
}

async function main(): Promise<void> {
  header(`steady-state garbage: ${PAIRS.toLocaleString('en-US')} acquire/release pairs of 512 B`);
  if (gc === undefined) console.log('(run with --expose-gc for exact heap figures)');
  const pool = createPool();
  const out = { bufferId: 0, offset: 0, length: 0 };
  const rows = [
    await run('Buffer.allocUnsafe(512)', () => {
      let s = 0;
      for (let i = 0; i < PAIRS; i++) {
        const b = Buffer.allocUnsafe(512);
        b[0] = i;
        s = (s + b[0]!) | 0;
      }
      return s;
    }),
    await run('riopool lease', () => {
      let s = 0;
      for (let i = 0; i < PAIRS; i++) {
        const l = pool.acquire(512);
        s = (s + l.length) | 0;
        l.release();
      }
      return s;
    }),
    await run('riopool low-level', () => {
      let s = 0;
      for (let i = 0; i < PAIRS; i++) {
        const h = pool.acquireInto(512, out);
        const v = pool.view(out.bufferId);
        v[out.offset] = i;
        s = (s + v[out.offset]!) | 0;
        pool.releaseHandle(h);
      }
      return s;
    }),
  ];
  console.log(`\n| ${'path'.padEnd(32)} |  ms    |  GCs  | GC ms   | heap KiB Δ|`);
  console.log(`|${'-'.repeat(34)}|-------:|------:|--------:|----------:|`);
  for (const r of rows) console.log(r);
  await pool.close();
}

void main();
