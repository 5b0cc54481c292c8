/**
 * Scenario 1: acquire + release at 512 B, 4 KiB and 64 KiB, against Buffer.allocUnsafe (the
 * baseline), Buffer.alloc, new Uint8Array and @protobufjs/pool, for the ergonomic lease and the
 * low-level path. Each riopool task also touches the memory, as the baselines do.
 * Floors (docs/performance.md): lease >= 2.5x Buffer.allocUnsafe(512) and low-level >= 3x on Node 24 and 26; 4 KiB and 64 KiB >= 5x.
 */
import pbPool = require('@protobufjs/pool');
import { createPool, type Lease } from '@riopool/pool';
import { header, measure, ratioTable } from './support';

async function main(): Promise<void> {
  header('acquire + release');
  const pool = createPool();
  const leaky = createPool({ leakDetection: true });
  const pb = pbPool((n: number) => new Uint8Array(n), Uint8Array.prototype.subarray as any);
  const out = { bufferId: 0, offset: 0, length: 0 };
  const held: Buffer[] = new Array(64);
  const inFlight: (Lease | undefined)[] = new Array(64).fill(undefined);
  console.log(`riopool backend: ${pool.stats().backend}`);

  for (const size of [512, 4096, 65536]) {
    console.log(`\n### ${size} bytes`);
    const rows = await measure([
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
      [
        'riopool lease, leakDetection: true',
        (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) {
            const l = leaky.acquire(size);
            s = (s + l.length) | 0;
            l.release();
          }
          return s;
        },
      ],
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
    ]);
    ratioTable(rows, `Buffer.allocUnsafe(${size})`);
    for (const l of inFlight.splice(0, 64, ...new Array(64).fill(undefined))) l?.release();
  }
  await Promise.all([pool.close(), leaky.close()]);
}

void main();
