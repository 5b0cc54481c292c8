// Checked mode: released slots are poisoned, and a write after release is reported with the
// release's stack.
import { createPool, POISON, type PoolReport } from '@riopool/pool';

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
    expect(reports[0]!.releasedAt).toMatch(/21\.checked-mode\.test\.ts:/); // the release site
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
