/**
 * Scenario 1: acquire + release at 512 B, 4 KiB and 64 KiB, against Buffer.allocUnsafe (the
 * baseline), Buffer.alloc, new Uint8Array and @protobufjs/pool, for the ergonomic lease and the
 * low-level path. Each riopool task also touches the memory, as the baselines do.
 * Floors (docs/performance.md): lease >= 2.5x Buffer.allocUnsafe(512) and low-level >= 3x on Node 24 and 26; 4 KiB and 64 KiB >= 5x.
 *
 *   node --expose-gc bench/dist/acquire-release.js
 *   BASELINE=<an older checkout, built> node --expose-gc bench/dist/acquire-release.js
 *   TRACKED=0 ...      without the leakDetection row (see TRACKED below)
 *
 * With BASELINE, that checkout's pool package runs every row this code's pool runs, in the same
 * rotated rounds ("base" rows: the same mix of calls, see baseTasks), and a second
 * table gives this code's ns per pair as a ratio of the base's: a regression shows against the
 * last release, not only against Buffer.allocUnsafe, whose own cost moves 2-3x with the heap.
 * The base rows are written out again rather than made by a shared factory: closures of one
 * function literal share their type feedback, and a call site that sees both pools' classes
 * would be polymorphic in both rows.
 */
import * as path from 'node:path';
import pbPool = require('@protobufjs/pool');
import { createPool, type Lease } from '@riopool/pool';
import { header, measure, ratioTable, type Measured } from './support';

const BASELINE = process.env.BASELINE;
/** Rotated rounds per size (ROUNDS=9 for the figures in docs/performance.md); SIZES=512 runs one size. */
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SIZES = (process.env.SIZES ?? '512,4096,65536').split(',').map(Number);
/**
 * TRACKED=0 leaves out the `leakDetection: true` row (and its pool). With it, the process also
 * makes tracked leases, which run Lease's constructor too, and V8's escape analysis no longer
 * takes apart the plain leases of a loop once leases also outlive loops elsewhere
 * (docs/performance.md, 1c): the figures with and without it are both in performance.md.
 */
const TRACKED = process.env.TRACKED !== '0';
type PoolModule = typeof import('@riopool/pool');
type AnyPool = ReturnType<PoolModule['createPool']>;

/**
 * The BASELINE checkout's pool in every row this code's pool runs (see the header): the two floor
 * pairs, and the others only so that the base's code sees the same mix of calls as this code's.
 * With the floor pairs alone, the base's shared functions (take, release) saw fewer kinds of
 * call and were optimized for them: 2bfd24b against a copy of itself read 1.17-1.51x for the
 * lease pair.
 */
function baseTasks(
  base: AnyPool,
  baseLeaky: AnyPool | undefined,
  size: number,
  out: { bufferId: number; offset: number; length: number },
  inFlight: ({ release(): void } | undefined)[],
): [string, (n: number) => number][] {
  return [
    [
      'base: riopool lease: acquire + release',
      (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) {
          const l = base.acquire(size);
          s = (s + l.length) | 0;
          l.release();
        }
        return s;
      },
    ],
    [
      'base: riopool lease + bytes, 64 in flight',
      (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) {
          const l = base.acquire(size);
          const b = l.bytes;
          b[0] = i;
          s = (s + b[0]!) | 0;
          const j = i & 63;
          inFlight[j]?.release();
          inFlight[j] = l;
        }
        return s;
      },
    ],
    ...(baseLeaky === undefined
      ? []
      : ([
          [
            'base: riopool lease, leakDetection: true',
            (n: number) => {
              let s = 0;
              for (let i = 0; i < n; i++) {
                const l = baseLeaky.acquire(size);
                s = (s + l.length) | 0;
                l.release();
              }
              return s;
            },
          ],
        ] as [string, (n: number) => number][])),
    [
      'base: riopool low-level, no view',
      (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) {
          const h = base.acquireInto(size, out);
          s = (s + out.offset) | 0;
          base.releaseHandle(h);
        }
        return s;
      },
    ],
    [
      'base: riopool lease + bytes',
      (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) {
          const l = base.acquire(size);
          const b = l.bytes;
          b[0] = i;
          s = (s + b[0]!) | 0;
          l.release();
        }
        return s;
      },
    ],
    [
      'base: riopool low-level (acquireInto + view)',
      (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) {
          const h = base.acquireInto(size, out);
          const v = base.view(out.bufferId);
          v[out.offset] = i;
          s = (s + v[out.offset]!) | 0;
          base.releaseHandle(h);
        }
        return s;
      },
    ],
  ];
}

/** This code's pair rows as a ratio of the base's, per round and of the medians (< 1: this is faster). */
function baseTable(rows: Measured[]): void {
  console.log('\n| pair | this ns | base ns | this / base | per round |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [mine, theirs] of [
    ['riopool lease + bytes', 'base: riopool lease + bytes'],
    ['riopool low-level (acquireInto + view)', 'base: riopool low-level (acquireInto + view)'],
  ] as const) {
    const a = rows.find((r) => r.name === mine)!;
    const b = rows.find((r) => r.name === theirs)!;
    const perRound = a.rounds.map((ns, i) => ns / b.rounds[i]!);
    const range = `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}×`;
    console.log(`| ${mine} | ${a.nsPerOp.toFixed(1)} | ${b.nsPerOp.toFixed(1)} | ${(a.nsPerOp / b.nsPerOp).toFixed(2)}× | ${range} |`);
  }
}

async function main(): Promise<void> {
  header('acquire + release');
  const pool = createPool();
  const leaky = TRACKED ? createPool({ leakDetection: true }) : undefined;
  const pb = pbPool((n: number) => new Uint8Array(n), Uint8Array.prototype.subarray as any);
  const out = { bufferId: 0, offset: 0, length: 0 };
  const held: Buffer[] = new Array(64);
  const inFlight: (Lease | undefined)[] = new Array(64).fill(undefined);
  console.log(`riopool backend: ${pool.stats().backend}`);
  // The baseline's own pool package, loaded from its checkout (its core and addon with it).
  const baseModule = BASELINE === undefined ? undefined : (require(path.join(BASELINE, 'packages/pool/dist/index.js')) as PoolModule);
  const base = baseModule?.createPool();
  const baseLeaky = TRACKED ? baseModule?.createPool({ leakDetection: true }) : undefined;
  const baseOut = { bufferId: 0, offset: 0, length: 0 };
  const baseInFlight: ({ release(): void } | undefined)[] = new Array(64).fill(undefined);
  if (BASELINE !== undefined) console.log(`base: the pool package of ${BASELINE}`);

  for (const size of SIZES) {
    console.log(`\n### ${size} bytes`);
    const rows = await measure(
      [
        ...(base !== undefined && size === 512 ? baseTasks(base, baseLeaky, size, baseOut, baseInFlight) : []),
        [
          `Buffer.allocUnsafe(${size})`,
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const b = Buffer.allocUnsafe(size);
              b[0] = i;
              s = (s + b[0]!) | 0;
            }
            return s;
          },
        ],
        [
          `Buffer.alloc(${size})`,
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const b = Buffer.alloc(size);
              b[0] = i;
              s = (s + b[0]!) | 0;
            }
            return s;
          },
        ],
        [
          `new Uint8Array(${size})`,
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const b = new Uint8Array(size);
              b[0] = i;
              s = (s + b[0]!) | 0;
            }
            return s;
          },
        ],
        [
          `@protobufjs/pool(${size})`,
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const b = pb(size);
              b[0] = i;
              s = (s + b[0]!) | 0;
            }
            return s;
          },
        ],
        [
          'riopool lease: acquire + release',
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const l = pool.acquire(size);
              s = (s + l.length) | 0;
              l.release();
            }
            return s;
          },
        ],
        [
          'riopool lease + bytes',
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const l = pool.acquire(size);
              const b = l.bytes;
              b[0] = i;
              s = (s + b[0]!) | 0;
              l.release();
            }
            return s;
          },
        ],
        // Leases that outlive the loop body (64 in flight, as a server's would): V8 cannot
        // optimize the lease object away, as it may in the row above. Compared with buffers that
        // stay alive as long.
        [
          `Buffer.allocUnsafe(${size}), 64 in flight`,
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const b = Buffer.allocUnsafe(size);
              b[0] = i;
              s = (s + b[0]!) | 0;
              held[i & 63] = b;
            }
            return s;
          },
        ],
        [
          'riopool lease + bytes, 64 in flight',
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const l = pool.acquire(size);
              const b = l.bytes;
              b[0] = i;
              s = (s + b[0]!) | 0;
              const j = i & 63;
              inFlight[j]?.release();
              inFlight[j] = l;
            }
            return s;
          },
        ],
        ...(leaky === undefined
          ? []
          : ([
              [
                'riopool lease, leakDetection: true',
                (n: number) => {
                  let s = 0;
                  for (let i = 0; i < n; i++) {
                    const l = leaky.acquire(size);
                    s = (s + l.length) | 0;
                    l.release();
                  }
                  return s;
                },
              ],
            ] as [string, (n: number) => number][])),
        [
          'riopool low-level, no view',
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const h = pool.acquireInto(size, out);
              s = (s + out.offset) | 0;
              pool.releaseHandle(h);
            }
            return s;
          },
        ],
        [
          'riopool low-level (acquireInto + view)',
          (n) => {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const h = pool.acquireInto(size, out);
              const v = pool.view(out.bufferId);
              v[out.offset] = i;
              s = (s + v[out.offset]!) | 0;
              pool.releaseHandle(h);
            }
            return s;
          },
        ],
      ],
      { rounds: ROUNDS },
    );
    ratioTable(rows, `Buffer.allocUnsafe(${size})`);
    if (base !== undefined && size === 512) baseTable(rows);
    for (const l of inFlight.splice(0, 64, ...new Array(64).fill(undefined))) l?.release();
    for (const l of baseInFlight.splice(0, 64, ...new Array(64).fill(undefined))) l?.release();
  }
  await Promise.all([pool.close(), leaky?.close(), base?.close(), baseLeaky?.close()]);
}

void main();
