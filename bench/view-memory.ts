/**
 * Scenario 6: what lease.bytes's per-slot view cache costs in memory. Leases every slot of 64
 * slabs of one class, reads `bytes` of each (or not), and compares the JS heap after a full GC:
 * the difference per slot is the cache's cost (one array entry per slot of a slab whose bytes
 * were read, plus one Uint8Array per slot read). Run with --expose-gc (run-all does).
 */
import { createPool, type Lease } from '@riopool/pool';
import { header } from './support';

const gc = (globalThis as { gc?: () => void }).gc;
const SLABS = 64;

function heapAfterGc(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function measure(size: number, readBytes: boolean): number {
  const pool = createPool({ backend: 'none' });
  const perSlab = pool.stats().pageSize === 4096 ? Math.floor(65536 / Math.max(size, 16)) : 0;
  const leases: Lease[] = [];
  // One lease first, so the class exists before the baseline is taken.
  leases.push(pool.acquire(size));
  const before = heapAfterGc();
  const slots = perSlab * SLABS;
  for (let i = 1; i < slots; i++) leases.push(pool.acquire(size));
  const withLeases = heapAfterGc();
  if (readBytes) for (const l of leases) l.bytes[0] = 1;
  const after = heapAfterGc();
  for (const l of leases) l.release();
  void pool.close();
  void withLeases;
  return (after - before) / slots;
}

header('lease.bytes view cache: memory per slot');
console.log('\n| slot size | heap per leased slot, bytes not read | with bytes read | cache cost per slot |');
console.log('|---:|---:|---:|---:|');
for (const size of [16, 512, 4096]) {
  const without = measure(size, false);
  const withBytes = measure(size, true);
  console.log(`| ${size} B | ${without.toFixed(0)} B | ${withBytes.toFixed(0)} B | ${(withBytes - without).toFixed(0)} B |`);
}
console.log("\n(heap per leased slot includes the Lease object each slot's holder keeps here)");
