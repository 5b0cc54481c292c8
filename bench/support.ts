/**
 * Shared by the scenarios: the machine line, batched timing on tinybench, ratio tables.
 *
 * Each tinybench iteration runs a batch of operations (an acquire/release pair costs tens of
 * nanoseconds, less than the timer's resolution), and ns/op is the iteration's mean latency
 * divided by the batch. Ratios compare tasks measured in the same process, one after another,
 * each after a forced GC.
 */
import * as os from 'node:os';
import { Bench } from 'tinybench';

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}`;
}

export function header(title: string): void {
  console.log(`\n## ${title}\n`);
  console.log(`machine: ${machine()}`);
}

export interface Measured {
  name: string;
  nsPerOp: number;
  /** Relative margin of error of the mean, in percent. */
  rme: number;
}

/** Times each task: `fn(batch)` performs `batch` operations. */
export async function measure(tasks: [string, (batch: number) => unknown][], batch = 1000, time = 400): Promise<Measured[]> {
  const bench = new Bench({ time, warmupTime: 100 });
  // Each task starts from a collected heap, so it does not pay for the garbage of the one before
  // (run with --expose-gc; run-all does).
  const gc = (globalThis as { gc?: () => void }).gc;
  for (const [name, fn] of tasks) bench.add(name, () => void fn(batch), { beforeAll: () => gc?.() });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; rme: number }; error?: unknown };
    if (r.latency === undefined) throw new Error(`${t.name} failed: ${String(r.error)}`);
    return { name: t.name, nsPerOp: (r.latency.mean * 1e6) / batch, rme: r.latency.rme };
  });
}

/** Prints a table with each row's speed relative to the baseline row (× faster). */
export function ratioTable(rows: Measured[], baseline: string): void {
  const base = rows.find((r) => r.name === baseline);
  if (base === undefined) throw new Error(`no baseline ${baseline}`);
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`\n| ${'task'.padEnd(width)} | ns/op | ± % | vs ${baseline} |`);
  console.log(`|${'-'.repeat(width + 2)}|------:|----:|---:|`);
  for (const r of rows) {
    console.log(`| ${r.name.padEnd(width)} | ${r.nsPerOp.toFixed(1)} | ${r.rme.toFixed(1)} | ${(base.nsPerOp / r.nsPerOp).toFixed(2)}× |`);
  }
}

export function kB(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1024).toFixed(0)} kB`;
}
