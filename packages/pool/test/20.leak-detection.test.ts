// Leak detection: a lease collected without release is reported, its slot reclaimed, and a close()
// waiting on it finishes (real GC: jest runs with --expose-gc).
import { createPool } from '@riopool/pool';
import { runChild } from './helpers';

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
