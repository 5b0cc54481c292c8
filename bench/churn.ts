/**
 * Scenario 4: churn. A server-like mix of sizes (the report's `mixed`) with random lifetimes:
 * a table of 4,096 live buffers, each step replacing a random one. riopool (automatic
 * retirement with hysteresis, plus trim() every 250,000 steps) against Buffer.allocUnsafe
 * with the same sequence. Reports steps per second, and the pool's registrations and churn.
 */
import { createPool, type Lease } from '@riopool/pool';
import { workloadLengths } from '@riopool/pool/report';
import { header } from './support';

const STEPS = 2_000_000;
const LIVE = 4096;

async function main(): Promise<void> {
  header(`churn: ${STEPS.toLocaleString('en-US')} steps over ${LIVE} live buffers, mixed sizes`);
  const sizes = Int32Array.from(workloadLengths(65536, 'mixed', 7));
  const picks = Int32Array.from(workloadLengths(65536, `1-${LIVE}`, 8).map((x) => x - 1));

  const baseline = new Array<Buffer | undefined>(LIVE);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < STEPS; i++) {
    const b = Buffer.allocUnsafe(sizes[i & 65535]!);
    b[0] = i;
    baseline[picks[(i * 7) & 65535]!] = b;
  }
  const baseMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const pool = createPool();
  const live = new Array<Lease | undefined>(LIVE);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < STEPS; i++) {
    const l = pool.acquire(sizes[i & 65535]!);
    l.bytes[0] = i;
    const at = picks[(i * 7) & 65535]!;
    live[at]?.release();
    live[at] = l;
    if (i % 250_000 === 249_999) pool.trim();
  }
  const poolMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const s = pool.stats();
  for (const l of live) l?.release();
  await pool.close();

  const rate = (ms: number) => Math.round(STEPS / (ms / 1000)).toLocaleString('en-US');
  console.log(`\n| allocator | steps/s | vs Buffer.allocUnsafe |`);
  console.log(`|---|---:|---:|`);
  console.log(`| Buffer.allocUnsafe | ${rate(baseMs)} | 1.00× |`);
  console.log(`| riopool lease + bytes | ${rate(poolMs)} | ${(baseMs / poolMs).toFixed(2)}× |`);
  console.log(
    `\npool: ${s.totals.totalRegistrations} registrations in all, ${s.totals.retirements} retirements, churn ${s.totals.churn}, ${s.totals.trims} trims, peak mapped ${(s.totals.peakMappedBytes / 1024).toFixed(0)} KiB`,
  );
}

void main();
