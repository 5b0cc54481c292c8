// Worker threads: a pool per worker, and a worker that exits with leases outstanding.
import { Worker } from 'node:worker_threads';
import { loadBinding } from '@riopool/native';
import { isLinux, POOL_DIST } from './helpers';

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
