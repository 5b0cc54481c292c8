/**
 * Scenario 1d: where the low-level pair's time goes (docs/performance.md 1c, "A fourth look").
 * The pair `acquireInto(512)` + `view()` + a byte + `releaseHandle()` with the handle check laid
 * out in several ways, each patched over the built core in a process of its own (a variant is an
 * experiment, not a design: some drop guarantees the product keeps), beside BASELINE's pool:
 *
 *   main          the handle table as built
 *   no table      handle = the slot's location: no stale, forged or foreign check at all
 *   cells here    the table's cells and free list on the allocator itself (one load less)
 *   no free list  the same, each slot its own entry (no pop or push a pair)
 *   slot word     a tag kept in the slab's own slot word (free: tag and next; leased: tag), one
 *                 slab only (the handle has no room for a 15-bit slab id: the point of the scenario)
 *   base          BASELINE's pool, untouched
 *
 *   BASELINE=<checkout, built> ROUNDS=5 node bench/dist/lowlevel-variants.js
 *
 * Rounds alternate the variants; each round is a fresh process that runs 12 sets of 3·10^6 pairs
 * and reports the median of the last 10 (ns a pair). Run on a quiet host, pinned (taskset -c 1).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { header } from './support';

type Variant = 'main' | 'no table' | 'cells here' | 'no free list' | 'slot word' | 'base';
const VARIANTS: Variant[] = ['main', 'no table', 'cells here', 'no free list', 'slot word'];
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 5) || 1);
const BASELINE = process.env.BASELINE;

// Patching the built files: their classes, reached by path through the pool's own core.
type Proto = Record<string, unknown>;
type Fn = (this: Record<string, any>, ...args: any[]) => unknown;

function coreFile(name: string): Record<string, { prototype: Proto }> {
  const pool = path.dirname(require.resolve('@riopool/pool/package.json'));
  const core = path.dirname(require.resolve('@riopool/core/package.json', { paths: [pool] }));
  return require(path.join(core, 'dist', name));
}

function patch(variant: Variant): void {
  const HandleTable = coreFile('handle-table.js').HandleTable!.prototype;
  const Allocator = coreFile('allocator.js').Allocator!.prototype;
  const Slab = coreFile('slab.js').Slab!.prototype;
  const set = (proto: Proto, name: string, fn: Fn) => {
    proto[name] = fn;
  };
  if (variant === 'no table') {
    set(HandleTable, 'issue', (location: number) => location);
    set(HandleTable, 'redeem', (handle: number) => handle);
  } else if (variant === 'cells here' || variant === 'no free list') {
    const perSlot = variant === 'no free list';
    set(Allocator, 'acquireInto', function (length: number, out: { bufferId: number; offset: number; length: number }) {
      if (this.cells === undefined) {
        this.cells = new Int32Array(4096);
        for (let i = 0; i < 1024; i++) {
          this.cells[i * 4] = ~((1 << 20) | i);
          this.cells[i * 4 + 2] = i === 1023 ? -1 : (i + 1) * 4;
        }
        this.free = 0;
      }
      if (typeof out !== 'object' || out === null || this.free < 0) throw new Error('no entry');
      const slab = this.take(length);
      const slot = this.takenSlot;
      out.bufferId = slab.bufferId;
      out.offset = slot * slab.cls.slotSize;
      out.length = length;
      const cells: Int32Array = this.cells;
      const at = perSlot ? slot << 2 : this.free;
      if (!perSlot) this.free = cells[at + 2]!;
      const handle = ~cells[at]!;
      cells[at] = handle;
      cells[at + 1] = (slab.id << 16) | slot;
      return handle;
    });
    set(Allocator, 'releaseHandle', function (handle: number) {
      const cells: Int32Array = this.cells;
      if (typeof handle !== 'number' || cells[(handle & 0xfffff) << 2] !== handle) throw new Error('not a handle');
      const at = (handle & 0xfffff) << 2;
      cells[at] = ~(handle < 0x7ff00000 ? handle + 0x100000 : 0x100000 | (handle & 0xfffff));
      if (!perSlot) {
        cells[at + 2] = this.free;
        this.free = at;
      }
      const location = cells[at + 1]!;
      this.releaseSlot(this.slabs[location >>> 16], location & 0xffff);
    });
  } else if (variant === 'slot word') {
    set(Slab, 'takeSlot', function (_length: number) {
      const slot = this.freeHead;
      const w = ~this.slots[slot];
      this.freeHead = ((w & 0x1ffff) << 15) >> 15;
      this.slots[slot] = (w >>> 17) + 1;
      this.leased++;
      return slot;
    });
    set(Slab, 'freeSlot', function (slot: number) {
      const t = this.slots[slot];
      this.slots[slot] = ~(((t & 0x3fff) << 17) | (this.freeHead & 0x1ffff));
      this.freeHead = slot;
      this.leased--;
    });
    set(Allocator, 'acquireInto', function (length: number, out: { bufferId: number; offset: number; length: number }) {
      if (typeof out !== 'object' || out === null) throw new Error('no out');
      const slab = this.take(length);
      const slot = this.takenSlot;
      out.bufferId = slab.bufferId;
      out.offset = slot * slab.cls.slotSize;
      out.length = length;
      return ((slab.slots[slot] & 0x7ff) << 20) | (slab.id << 16) | slot;
    });
    set(Allocator, 'releaseHandle', function (handle: number) {
      const slab = this.slabs[(handle >>> 16) & 0xf];
      const slot = handle & 0xffff;
      if (typeof handle !== 'number' || slab === undefined || (slab.slots[slot] & 0x7ff) !== handle >>> 20) throw new Error('not a handle');
      this.releaseSlot(slab, slot);
    });
  }
}

/** In a child: patch, make a pool, time the pair, print the median ns. */
function child(variant: Variant): void {
  if (variant !== 'base') patch(variant);
  const pools: typeof import('@riopool/pool') =
    variant === 'base' ? require(path.join(BASELINE!, 'packages/pool')) : require('@riopool/pool');
  const pool = pools.createPool();
  const out = { bufferId: 0, offset: 0, length: 0 };
  const pairs = (n: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const h = pool.acquireInto(512, out);
      const v = pool.view(out.bufferId);
      v[out.offset] = i;
      s = (s + v[out.offset]!) | 0;
      pool.releaseHandle(h);
    }
    return s;
  };
  const sets: number[] = [];
  for (let r = 0; r < 12; r++) {
    const t0 = process.hrtime.bigint();
    pairs(3e6);
    sets.push(Number(process.hrtime.bigint() - t0) / 3e6);
  }
  const last = sets.slice(2).sort((a, b) => a - b);
  process.stdout.write(`${last[last.length >> 1]}\n`);
}

function main(): void {
  header('low-level pair: where the handle check costs (512 B)');
  const variants: Variant[] = BASELINE === undefined ? VARIANTS : [...VARIANTS, 'base'];
  const results = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const v of order) {
      const r = spawnSync(process.execPath, [__filename, '--variant', v], { encoding: 'utf8', env: process.env });
      if (r.status !== 0) throw new Error(`variant ${v}: ${r.stderr}`);
      results.get(v)!.push(Number(r.stdout.trim()));
    }
  }
  const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!;
  const base = BASELINE === undefined ? undefined : median(results.get('base')!);
  console.log(`\n| variant | ns a pair (median of ${ROUNDS} processes) | per process | vs base |`);
  console.log('|---|---:|---|---:|');
  for (const v of variants) {
    const x = results.get(v)!;
    const m = median(x);
    console.log(
      `| ${v} | ${m.toFixed(1)} | ${x.map((n) => n.toFixed(1)).join(', ')} | ${base === undefined ? '-' : `${(m / base).toFixed(2)}×`} |`,
    );
  }
}

const at = process.argv.indexOf('--variant');
if (at >= 0) child(process.argv[at + 1] as Variant);
else main();
