/**
 * Shared by the scenarios: the machine line, batched timing on tinybench, ratio tables.
 *
 * Each tinybench iteration runs a batch of operations (an acquire/release pair costs tens of
 * nanoseconds, less than the timer's resolution), and ns/op is the iteration's mean latency
 * divided by the batch. Ratios compare tasks measured in the same process, in rounds whose
 * order rotates (see measure), each task after a forced GC.
 */
import * as os from 'node:os';
// tinybench is an ES module: loaded with import() from this CommonJS file.

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
  /** The median over rounds of the task's mean ns per operation. */
  nsPerOp: number;
  /** Half the range of the round means, relative to the median, in percent. */
  spread: number;
  /** The task's ns/op in each round, in round order. */
  rounds: number[];
}

export interface MeasureOptions {
  /** Operations per tinybench iteration; default 1,000. */
  batch?: number;
  /** Milliseconds per task per round; default 200. */
  time?: number;
  /** Rounds; default 5. */
  rounds?: number;
}

/**
 * Times each task: `fn(batch)` performs `batch` operations. Each round runs every task once, and
 * the order rotates by one task per round: on a machine whose speed drifts during a run (shared
 * hosts do), a single pass would favour whichever task ran in the fast stretch; over rotated
 * rounds each task runs early and late, and the median of its round means is what is reported.
 */
export async function measure(tasks: [string, (batch: number) => unknown][], options: MeasureOptions = {}): Promise<Measured[]> {
  const { batch = 1000, time = 200, rounds = 5 } = options;
  // Each task starts from a collected heap, so it does not pay for the garbage of the one before
  // (run with --expose-gc; run-all does).
  const gc = (globalThis as { gc?: () => void }).gc;
  const perTask = new Map<string, number[]>(tasks.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const { Bench } = await import('tinybench');
    const bench = new Bench({ time, warmupTime: 50 });
    for (let k = 0; k < tasks.length; k++) {
      const [name, fn] = tasks[(k + round) % tasks.length]!;
      bench.add(name, () => void fn(batch), { beforeAll: () => gc?.() });
    }
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result as { latency?: { mean: number }; error?: unknown };
      if (r.latency === undefined) throw new Error(`${t.name} failed: ${String(r.error)}`);
      perTask.get(t.name)!.push((r.latency.mean * 1e6) / batch);
    }
  }
  return tasks.map(([name]) => {
    const values = perTask.get(name)!;
    const sorted = [...values].sort((x, y) => x - y);
    const median = sorted[sorted.length >> 1]!;
    return { name, nsPerOp: median, spread: ((sorted[sorted.length - 1]! - sorted[0]!) / 2 / median) * 100, rounds: values };
  });
}

/**
 * Prints a table with each row's speed relative to the baseline row (× faster): the ratio of the
 * medians, and the lowest and highest ratio within one round.
 */
export function ratioTable(rows: Measured[], baseline: string): void {
  const base = rows.find((r) => r.name === baseline);
  if (base === undefined) throw new Error(`no baseline ${baseline}`);
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`\n| ${'task'.padEnd(width)} | ns/op | spread ± % | vs ${baseline} | per round |`);
  console.log(`|${'-'.repeat(width + 2)}|------:|----:|---:|---:|`);
  for (const r of rows) {
    const perRound = r.rounds.map((ns, i) => base.rounds[i]! / ns);
    const range = `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}×`;
    console.log(
      `| ${r.name.padEnd(width)} | ${r.nsPerOp.toFixed(1)} | ${r.spread.toFixed(1)} | ${(base.nsPerOp / r.nsPerOp).toFixed(2)}× | ${range} |`,
    );
  }
}

export function KiB(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1024).toFixed(0)} KiB`;
}
