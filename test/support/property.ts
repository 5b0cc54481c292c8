/**
 * fast-check parameters that print their seed and replay from it.
 *
 *   FC_SEED=<seed> pnpm test <file>        replays a run (add FC_PATH=<path> for the exact case)
 *   FC_RUNS=<n>                             overrides the number of runs
 *
 * Every property prints `[fast-check] <name>: seed=<seed> runs=<n>` before it runs, and
 * fast-check adds the seed and the counterexample path to any failure.
 */
import type { Parameters } from 'fast-check';

export function propertyParams<T>(name: string, runs: number): Parameters<T> {
  const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const numRuns = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : runs;
  const path = process.env.FC_PATH;
  // eslint-disable-next-line no-console
  console.log(`[fast-check] ${name}: seed=${seed} runs=${numRuns} (replay: FC_SEED=${seed} pnpm test)`);
  return { seed, numRuns, ...(path !== undefined ? { path } : {}), verbose: 1 };
}
