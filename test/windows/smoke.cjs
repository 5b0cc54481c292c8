// The Windows smoke suite: run by Node's official win-x64 build (under Wine in CI, see run.sh)
// against the win32-x64 prebuild. Plain CommonJS, no test runner: one line per check, then
// "N passed, N failed". RIOPOOL_NATIVE_PATH names the prebuild (a Windows path).
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..', '..');
const native = require(path.join(root, 'packages', 'native', 'dist', 'index.js')).loadBinding();
const riopool = require(path.join(root, 'packages', 'pool', 'dist', 'index.js'));
const CLI = path.join(root, 'packages', 'pool', 'dist', 'cli', 'main.js');

let passed = 0;
let failed = 0;
const pending = [];
// A check that neither settles nor throws in a minute fails: the suite never hangs CI.
const CHECK_TIMEOUT_MS = 60_000;
function withTimeout(promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result in ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
function check(name, fn) {
  pending.push(async () => {
    try {
      const detail = await withTimeout(Promise.resolve().then(fn));
      passed++;
      console.log(`ok - ${name}${detail ? ` (${detail})` : ''}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}: ${e?.stack ? e.stack : e}`);
    }
  });
}
function assert(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}
function throwsCode(fn, code) {
  try {
    fn();
  } catch (e) {
    assert(e.code === code, `code ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected a throw with code ${code}`);
}

check('the addon is the win32 prebuild, on Windows', () => {
  assert(process.platform === 'win32', 'win32');
  const info = native.info();
  assert(info.backends.includes('rio') && info.backends.includes('lock') && !info.backends.includes('uring'), 'rio, lock, none compiled');
  return `Node ${process.version}, page ${info.pageSize}, backends ${info.backends.join(' ')}`;
});

check('map / unmap / detach: views read as length 0 after unmap; a second unmap is false', () => {
  const page = native.pageSize();
  const ab = native.map(16 * page);
  const view = new Uint8Array(ab);
  view[0] = 7;
  view[view.length - 1] = 9;
  assert(view[0] + view[view.length - 1] === 16, 'memory is writable');
  assert(native.unmap(ab) === true, 'unmap true');
  assert(view.length === 0 && ab.byteLength === 0, 'views detached');
  assert(native.unmap(ab) === false, 'second unmap false');
  throwsCode(() => native.map(page + 1), 'EINVAL');
});

for (const kind of ['lock', 'none']) {
  check(`the ${kind} backend registers and deregisters (VirtualLock for lock)`, () => {
    const ab = native.map(256 * 1024);
    const before = native.memoryStatus();
    const r = new native.Backend(kind);
    const id = r.register(ab);
    new Uint8Array(ab).fill(1);
    const during = native.memoryStatus();
    assert(r.size === 1, 'one registration');
    throwsCode(() => native.unmap(ab), 'EBUSY');
    r.deregister(id);
    r.close();
    assert(native.unmap(ab) === true, 'unmapped after deregistration');
    assert(typeof during.rss === 'number' && during.rss > 0, 'working set size reported');
    return `working set ${Math.round(before.rss / 1024)} kB -> ${Math.round(during.rss / 1024)} kB with 256 kB ${kind === 'lock' ? 'locked' : 'touched'}`;
  });
}

check("the rio backend's clear error where RIO is missing (Wine), typed", () => {
  const e = throwsCode(() => riopool.createPool({ backend: 'rio' }), 'ERR_RIO_BACKEND');
  return e.message.replace(/\s+/g, ' ').slice(0, 160);
});

check("a pool with fallback: 'lock' does acquire, write, retain, release, stats, footprint, trim, close", async () => {
  const warnings = [];
  process.on('warning', (w) => warnings.push(w.code));
  const pool = riopool.createPool({ backend: 'rio', fallback: 'lock' });
  const s = pool.stats();
  assert(s.backend === 'lock' && s.pool.fallbacks === 1 && s.pool.fallbackChain[0].from === 'rio', 'fell back to lock, recorded');
  const leases = [];
  for (let i = 0; i < 300; i++) {
    const l = pool.acquire(512);
    l.bytes.fill(i & 0xff);
    leases.push(l);
  }
  const held = leases[10].retain();
  for (const l of leases) l.release();
  assert(held.bytes[0] === 10, 'retained lease keeps its bytes');
  held.release();
  const fp = pool.footprint();
  assert(fp.backend === 'lock' && fp.model.mappedBytes > 0, 'footprint');
  pool.trim();
  await pool.close();
  assert(pool.stats().totals.slabs === 0, 'closed: no slab left');
  return `fallback ${s.pool.fallbackChain[0].from} -> ${s.pool.fallbackChain[0].to}; working set ${Math.round(fp.measured.processRssBytes / 1024)} kB`;
});

check("registered I/O on Windows: 'uring' is a typed ERR_RIO_DATAPATH; 'auto' runs net, and echoes", async () => {
  const refused = riopool.createPool({ backend: 'none' });
  const err = await riopool
    .createServer(refused, { datapath: 'uring' })
    .listen()
    .then(
      () => null,
      (e) => e,
    );
  assert(err && err.code === 'ERR_RIO_DATAPATH', `ERR_RIO_DATAPATH, got ${err?.code}`);
  await refused.close();
  const pool = riopool.createPool({ backend: 'lock', fallback: 'none' });
  const server = riopool.createServer(pool, {}, (c) =>
    c.on('data', (l) => {
      c.write(l);
      l.release();
    }),
  );
  const { port } = await server.listen();
  const client = await riopool.connect(pool, { port });
  const lease = pool.acquire(5000);
  for (let i = 0; i < lease.length; i++) lease.bytes[i] = i & 0xff;
  let got = 0;
  let same = true;
  await new Promise((resolve) => {
    client.on('data', (l) => {
      for (let i = 0; i < l.length; i++) if (l.bytes[i] !== ((got + i) & 0xff)) same = false;
      got += l.length;
      l.release();
      if (got >= 5000) resolve();
    });
    client.write(lease);
    lease.release();
  });
  client.destroy();
  await server.close();
  const io = pool.stats().io;
  await pool.close();
  assert(same && io.datapath === 'net', 'the bytes came back on the net datapath');
  return `datapath ${io.datapath}: ${io.reason}`;
});

check('riopool report --json on the lock backend', () => {
  const r = spawnSync(process.execPath, [CLI, 'report', '--json', '--backend', 'lock', '--buffers', '200'], {
    encoding: 'utf8',
    timeout: 60000,
  });
  assert(r.status === 0, `exit 0, got ${r.status}: ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  assert(report.backend === 'lock' && report.strategies.slab.registrations >= 1, 'a report');
  return `slab ${report.strategies.slab.registrations} registration(s), per-buffer ${report.strategies.perBuffer.registrations}`;
});

(async () => {
  for (const p of pending) await p();
  console.log(`${passed} passed, ${failed} failed`);
  // A check that timed out may leave a socket or a timer behind: exit rather than wait on it.
  process.exit(failed === 0 ? 0 : 1);
})();
