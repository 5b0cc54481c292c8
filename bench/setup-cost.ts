/**
 * Scenario 3: setup cost per buffer. 10,000 buffers of 512 B: riopool (map and register one
 * slab per 128 buffers, then lease) against registering each buffer on its own, measured by
 * the report's two strategies in the same run; the median of 5 runs.
 */
import { runReport } from '@riopool/pool/report';
import { header } from './support';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  header('setup cost: 10,000 buffers of 512 B');
  const per = { setup: [] as number[], teardown: [] as number[] };
  const slab = { setup: [] as number[], teardown: [] as number[] };
  let registrations = [0, 0];
  for (let i = 0; i < RUNS; i++) {
    const r = runReport({ buffers: 10000, size: '512' });
    if (r.strategies.perBuffer.error || r.strategies.slab.error) {
      console.log(`a strategy failed: ${r.strategies.perBuffer.error?.message ?? r.strategies.slab.error?.message}`);
      return;
    }
    per.setup.push(r.strategies.perBuffer.setupMs);
    per.teardown.push(r.strategies.perBuffer.teardownMs);
    slab.setup.push(r.strategies.slab.setupMs);
    slab.teardown.push(r.strategies.slab.teardownMs);
    registrations = [r.strategies.perBuffer.registrations, r.strategies.slab.registrations];
  }
  const us = (ms: number) => ((ms * 1000) / 10000).toFixed(2);
  console.log(`\n| strategy | registrations | setup µs/buffer | teardown µs/buffer |`);
  console.log(`|---|---:|---:|---:|`);
  console.log(`| per-buffer registration | ${registrations[0]} | ${us(median(per.setup))} | ${us(median(per.teardown))} |`);
  console.log(`| riopool slabs | ${registrations[1]} | ${us(median(slab.setup))} | ${us(median(slab.teardown))} |`);
  console.log(
    `\nriopool sets up ${(median(per.setup) / median(slab.setup)).toFixed(2)}× faster and tears down ${(median(per.teardown) / median(slab.teardown)).toFixed(2)}× faster (medians of ${RUNS})`,
  );
}

main();
