// Backend fallback under a real memlock limit: an unprivileged child with `ulimit -l 0`.
import { isLinux, isRoot, spawnNode, POOL_DIST } from './helpers';

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
