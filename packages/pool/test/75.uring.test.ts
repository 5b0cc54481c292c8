/**
 * The uring datapath against the kernel: the bytes go through the ring as fixed-buffer
 * operations (the ring's own counters and strace say so), operations in flight keep their slabs
 * registered, and nothing is left pinned when connections, pools, workers or processes end with
 * I/O in flight.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { connect, createPool, type Connection, type Lease, type Pool } from '@riopool/pool';
import { loadBinding } from '@riopool/native';
import { echoServer, isLinux, POOL_DIST, sleep } from './helpers';

const uring = isLinux && createPool().stats().backend === 'uring' ? describe : describe.skip;
const pinned = () => loadBinding().memoryStatus().pinned!;

function ringFds(): Set<string> {
  const out = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).includes('io_uring')) out.add(fd);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function fdinfo(fd: string): Record<string, string> & { text: string } {
  const text = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const fields: Record<string, string> = {};
  for (const m of text.matchAll(/^(\w+):\s*(.*)$/gm)) fields[m[1]!] = m[2]!;
  return { ...fields, text };
}

/** An echo server and one client on the uring datapath. */
async function echoPair(pool: Pool, receive: 'ring' | 'lease' = 'ring'): Promise<{ client: Connection; close: () => Promise<void> }> {
  const server = await echoServer(pool, { datapath: 'uring', receive });
  const { port } = server;
  const client = await connect(pool, { port }, { datapath: 'uring', receive });
  return {
    client,
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}

function exchange(pool: Pool, client: Connection, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (lease: Lease) => {
      got += lease.length;
      lease.release();
      if (got >= bytes) {
        client.off('data', onData);
        resolve();
      }
    };
    client.on('data', onData);
    for (let sent = 0; sent < bytes; sent += 4096) {
      const lease = pool.acquire(Math.min(4096, bytes - sent));
      client.write(lease);
      lease.release();
    }
  });
}

uring('uring datapath on the real kernel', () => {
  test.each([
    ['ring', 27, 'RECV from the buffer ring'],
    ['lease', 4, 'READ_FIXED'],
  ] as const)(
    "the ring's own counters (receive: %s): operations went through it, on the registered buffers, receives armed as op %s (%s)",
    async (receive, opcode) => {
      const before = ringFds();
      const pool = createPool();
      const [fd] = [...ringFds()].filter((f) => !before.has(f));
      expect(fd).toBeDefined();
      const start = fdinfo(fd!);
      const { client, close } = await echoPair(pool, receive);
      await exchange(pool, client, 256 * 1024);
      const after = fdinfo(fd!);
      // Every operation the pool counts went through this ring, and the kernel completed them:
      // the submission queue's head moved by exactly what was submitted.
      const io = pool.stats().io;
      expect(Number(after.SqHead) - Number(start.SqHead)).toBe(io.opsSubmitted);
      expect(io.opsSubmitted).toBeGreaterThan(4); // accept, connect, receives, sends
      expect(Number(after.CqHead) - Number(start.CqHead)).toBeGreaterThan(io.opsSubmitted - io.opsInFlight - 1);
      // The slabs the leases came from are in the ring's fixed-buffer table...
      const registered = [...after.text.matchAll(/^\s+(\d+): 0x[0-9a-f]+\/(\d+)$/gm)].map((m) => Number(m[1]));
      expect(registered.length).toBe(pool.stats().totals.registrations);
      // ...and the receives waiting for data are armed as that operation.
      expect(after.text).toMatch(new RegExp(`op=${opcode}\\b`));
      expect(pool.stats().io).toMatchObject({ datapath: 'uring', receive: 'ring' });
      await close();
      await pool.close();
    },
  );

  const strace = spawnSync('strace', ['-V']).status === 0 ? test : test.skip;
  strace(
    'strace: no read or write system call touches a socket on uring (and the same check sees net do so)',
    () => {
      const script = (datapath: string) => `
      const { createPool, createServer, connect } = require(${JSON.stringify(POOL_DIST)});
      (async () => {
        const pool = createPool();
        const server = createServer(pool, { datapath: '${datapath}' }, (c) => c.on('data', (l) => { c.write(l); l.release(); }));
        const { port } = await server.listen();
        const client = await connect(pool, { port }, { datapath: '${datapath}' });
        let got = 0;
        await new Promise((resolve) => {
          client.on('data', (l) => { got += l.length; l.release(); if (got >= 1 << 20) resolve(); });
          for (let i = 0; i < 256; i++) { const l = pool.acquire(4096); l.bytes.fill(i); client.write(l); l.release(); }
        });
        client.destroy();
        await server.close();
        await pool.close();
      })();`;
      const count = (datapath: string) => {
        const out = path.join(os.tmpdir(), `riopool-strace-${process.pid}-${datapath}`);
        const r = spawnSync(
          'strace',
          [
            '-f',
            '-qq',
            '-y',
            '-e',
            'trace=read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg',
            '-o',
            out,
            process.execPath,
            '-e',
            script(datapath),
          ],
          {
            encoding: 'utf8',
            timeout: 60_000,
          },
        );
        expect(r.status).toBe(0);
        const lines = fs.readFileSync(out, 'utf8').split('\n');
        fs.rmSync(out);
        return lines.filter((l) => /\(\d+<(TCP|socket):/.test(l)).length;
      };
      expect(count('uring')).toBe(0);
      expect(count('net')).toBeGreaterThan(50);
    },
    120_000,
  );

  test.each(['lease', 'ring'] as const)(
    'receive: %s: a slab a receive may write survives trim() and close() until the kernel lets go of it; then VmPin is back',
    async (receive) => {
      const baseline = pinned();
      const pool = createPool();
      const { client, close } = await echoPair(pool, receive);
      await exchange(pool, client, 4096);
      // Both ends now wait in a receive: their leases (or the ring's lent buffers) are the only ones outstanding.
      const leased = pool.stats().totals.leased;
      expect(leased).toBeGreaterThanOrEqual(2);
      if (receive === 'ring') expect(pool.stats().io.ring?.lent).toBe(leased);
      pool.trim();
      expect(pool.stats().totals.leased).toBe(leased);
      expect(pool.stats().totals.registrations).toBeGreaterThanOrEqual(1);
      expect(pinned()).toBeGreaterThan(baseline);
      let closed = false;
      const closing = pool.close().then(() => (closed = true));
      await sleep(100);
      expect(closed).toBe(false); // the connections are open: close() waits for them
      expect(() => pool.acquire(16)).toThrow(expect.objectContaining({ code: 'ERR_RIO_POOL_CLOSED' }));
      await close(); // cancels the receives; their completions release the leases
      await closing;
      expect(pool.stats().totals.leased).toBe(0);
      expect(pinned()).toBe(baseline);
    },
  );

  test('a worker that exits with I/O in flight crashes nothing and leaves nothing pinned', async () => {
    const baseline = pinned();
    const script = `
      const { createPool, createServer, connect } = require(${JSON.stringify(POOL_DIST)});
      const { parentPort } = require('node:worker_threads');
      (async () => {
        const pool = createPool();
        const server = createServer(pool, { datapath: 'uring' }, (c) => c.on('data', (l) => l.release()));
        const { port } = await server.listen();
        const clients = await Promise.all([1, 2, 3, 4].map(() => connect(pool, { port }, { datapath: 'uring' })));
        for (const c of clients) { const l = pool.acquire(100000); c.write(l); l.release(); }
        parentPort.postMessage(pool.stats().io.opsInFlight);
        process.exit(0); // receives, an accept and maybe sends still in flight
      })();`;
    const results = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<{ inFlight: number; code: number }>((resolve, reject) => {
            const w = new Worker(script, { eval: true });
            let inFlight = -1;
            w.on('message', (m: number) => (inFlight = m));
            w.on('error', reject);
            w.on('exit', (code) => resolve({ inFlight, code }));
          }),
      ),
    );
    for (const r of results) {
      expect(r.code).toBe(0);
      expect(r.inFlight).toBeGreaterThan(0);
    }
    expect(pinned()).toBe(baseline);
  });

  test('a process that exits with I/O in flight exits cleanly', () => {
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `const { createPool, createServer, connect } = require(${JSON.stringify(POOL_DIST)});
        (async () => {
          const pool = createPool();
          const server = createServer(pool, { datapath: 'uring' });
          const { port } = await server.listen();
          await connect(pool, { port }, { datapath: 'uring' });
          console.log(pool.stats().io.opsInFlight);
          process.exit(0);
        })();`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(0);
  });
});
