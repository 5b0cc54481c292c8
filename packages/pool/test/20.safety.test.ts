import { Worker } from 'node:worker_threads';
import { createPool, POISON, type PoolReport } from '@riopool/pool';
import { loadBinding } from '@riopool/native';
import { isLinux, isRoot, runChild, spawnNode, POOL_DIST } from './helpers';

describe('leak detection', () => {
  test('is off by default and on in checked mode', async () => {
    const plain = createPool({ backend: 'none' });
    const checked = createPool({ backend: 'none', checked: true });
    expect(plain.stats().pool.leakDetection).toBe(false);
    expect(checked.stats().pool.leakDetection).toBe(true);
    await Promise.all([plain.close(), checked.close()]);
  });

  test('a lease collected without release is reported and its slot reclaimed (real GC)', () => {
    const { json, status, stderr } = runChild(
      `const reports = [];
      const pool = riopool.createPool({ leakDetection: true, onReport: (r) => reports.push(r) });
      (function leak() { for (let i = 0; i < 10; i++) pool.acquire(512); })();
      const kept = pool.acquire(512);
      (async () => {
        for (let i = 0; i < 20 && reports.length < 10; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); }
        const s = pool.stats();
        console.log(JSON.stringify({ reports: reports.length, kinds: [...new Set(reports.map((r) => r.kind))],
          leased: pool.stats().totals.leased, reclaimed: s.pool.leaksReclaimed, stack: reports[0] && reports[0].acquiredAt !== undefined }));
        kept.release();
        await pool.close();
      })();`,
      ['--expose-gc'],
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(json).toEqual({ reports: 10, kinds: ['leak'], leased: 1, reclaimed: 10, stack: false });
  });

  test('checked mode: the leak report carries the allocation stack', () => {
    const { json, status } = runChild(
      `const reports = [];
      const pool = riopool.createPool({ checked: true, onReport: (r) => reports.push(r) });
      (function leakingFunction() { pool.acquire(100); })();
      (async () => {
        for (let i = 0; i < 20 && reports.length < 1; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); }
        console.log(JSON.stringify({ stack: reports[0].acquiredAt }));
        await pool.close();
      })();`,
      ['--expose-gc'],
    );
    expect(status).toBe(0);
    expect(json.stack).toMatch(/leakingFunction/);
  });

  test('a close() waiting on a leaked lease finishes when GC reclaims it', () => {
    const { json, status } = runChild(
      `const pool = riopool.createPool({ leakDetection: true, onReport: () => {} });
      (function leak() { pool.acquire(512); })();
      let closed = false;
      pool.close().then(() => { closed = true; });
      (async () => {
        for (let i = 0; i < 20 && !closed; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); }
        console.log(JSON.stringify({ closed }));
      })();`,
      ['--expose-gc'],
    );
    expect(status).toBe(0);
    expect(json).toEqual({ closed: true });
  });
});

describe('checked mode', () => {
  test('released slots are poisoned; a write after release is reported with the release stack', async () => {
    const reports: PoolReport[] = [];
    const pool = createPool({ backend: 'none', checked: true, onReport: (r) => reports.push(r) });
    const lease = pool.acquire(64);
    const stale = lease.bytes; // kept by mistake
    (function releaseSite() {
      lease.release();
    })();
    expect(stale.every((b) => b === POISON)).toBe(true);
    stale[10] = 1; // the bug: a write after release
    expect(pool.checkPoison()).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'write-after-release', length: 64 });
    expect(reports[0]!.releasedAt).toMatch(/20\.safety\.test\.ts:/); // the release site
    expect(pool.stats().pool.writesAfterRelease).toBe(1);
    await pool.close();
  });

  test('the next acquire of a dirtied slot reports it too; clean reuse reports nothing', async () => {
    const reports: PoolReport[] = [];
    const pool = createPool({ backend: 'none', checked: true, onReport: (r) => reports.push(r) });
    const a = pool.acquire(32);
    const bytes = a.bytes;
    a.release();
    pool.acquire(32).release(); // clean reuse
    expect(reports).toHaveLength(0);
    bytes[0] = 7;
    const again = pool.acquire(32);
    expect(reports).toHaveLength(1);
    again.release();
    await pool.close();
  });
});

(isLinux && isRoot ? describe : describe.skip)('fallback under a real memlock limit (unprivileged child, ulimit -l 0)', () => {
  function child(options: string) {
    const script = `const riopool = require(${JSON.stringify(POOL_DIST)});
      const warnings = []; process.on('warning', (w) => warnings.push(w.code));
      try {
        const pool = riopool.createPool(${options});
        const s = pool.stats();
        pool.acquire(512).release();
        pool.close().then(() => setImmediate(() => console.log(JSON.stringify({ backend: s.backend, locked: s.locked, pool: s.pool, warnings }))));
      } catch (e) { console.log(JSON.stringify({ error: e.code, message: e.message })); }`;
    const r = spawnNode(['-e', script], { asNobody: true, memlockBytes: 0 });
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  }

  test('without fallback: ERR_RIO_MEMLOCK naming the limit and how to raise it', () => {
    const out = child('{}');
    expect(out.error).toBe('ERR_RIO_MEMLOCK');
    expect(out.message).toMatch(/RLIMIT_MEMLOCK/);
    expect(out.message).toMatch(/ulimit -l/);
  });

  test("fallback: 'none' steps down uring → lock → none, counts both steps and warns", () => {
    const out = child("{ fallback: 'none' }");
    expect(out.backend).toBe('none');
    expect(out.locked).toBe(false);
    expect(out.pool.requestedBackend).toBe('uring');
    expect(out.pool.fallbacks).toBe(2);
    expect(out.pool.fallbackChain.map((f: any) => `${f.from}>${f.to}`)).toEqual(['uring>lock', 'lock>none']);
    expect(out.warnings).toEqual(['RIOPOOL_FALLBACK', 'RIOPOOL_FALLBACK']);
  });

  test("fallback: 'lock' stops at lock, which fails too: the error is thrown", () => {
    expect(child("{ fallback: 'lock' }").error).toBe('ERR_RIO_MEMLOCK');
  });
});

(isLinux ? describe : describe.skip)('worker threads', () => {
  test('a pool per worker works; a worker exiting with leases outstanding leaves nothing registered', async () => {
    const native = loadBinding();
    const before = native.memoryStatus().pinned;
    const script = `const riopool = require(${JSON.stringify(POOL_DIST)});
      const { parentPort, workerData } = require('node:worker_threads');
      const pool = riopool.createPool();
      const leases = [];
      for (let i = 0; i < 1000; i++) leases.push(pool.acquire(512 + workerData));
      leases[0].bytes.fill(workerData);
      parentPort.postMessage({ slabs: pool.stats().totals.slabs, });
      process.exit(0); // leases still outstanding`;
    const results = await Promise.all(
      [1, 2, 3, 4].map(
        (n) =>
          new Promise<{ msg: any; code: number }>((resolve, reject) => {
            const w = new Worker(script, { eval: true, workerData: n });
            let msg: any;
            w.on('message', (m) => (msg = m));
            w.on('error', reject);
            w.on('exit', (code) => resolve({ msg, code }));
          }),
      ),
    );
    for (const r of results) {
      expect(r.code).toBe(0);
      expect(r.msg.slabs).toBeGreaterThan(1);
    }
    expect(native.memoryStatus().pinned).toBe(before);
  });
});
