// Issue 16: every option is checked up front (one schema per function), a bad one is a RioError
// ERR_RIO_INVALID_OPTION naming the key, and nothing is taken before (no slot, no socket fd).
// Errors after an asynchronous boundary reach an 'error' event, never the event loop.
// Out of descriptors: 96.out-of-descriptors.test.ts; a listener that throws: 97.listener-throws.test.ts.
import * as net from 'node:net';
import {
  LeaseWriter,
  ReceiveBuffer,
  connect,
  createPool,
  createServer,
  isRioError,
  leaseReader,
  writeLease,
  writeLeaseAsync,
  adoptSocket,
  type Pool,
} from '@riopool/pool';
import {
  checkInvariants,
  createCheckedPool,
  createMemoryPool,
  describeHandle,
  assertNoOutstanding,
  lengthArbitrary,
  MemoryRegistrar,
  runWorkload,
  workloadArbitrary,
} from '@riopool/pool/testing';
import { heldBytes, runReport, workloadLengths } from '@riopool/pool/report';
import fc from 'fast-check';
import { POOL_DIST, canDropPrivileges, code, fds, isLinux, runChild } from './helpers';
import { runNode } from '../../../test/support';

/** The RioError a call throws (synchronously); fails the test for anything else. */
function thrown(call: () => unknown): { code: string; message: string } {
  try {
    call();
  } catch (e) {
    if (!isRioError(e)) throw new Error(`not a RioError: ${String(e)}`);
    return e;
  }
  throw new Error('did not throw');
}

describe('createPool checks every option before it opens anything', () => {
  test.each([
    ['onReport', { leakDetection: true, onReport: 42 }, 'onReport: 42'],
    ['a typo', { maxbytes: 4096 }, 'maxbytes'],
    ['checked: 1', { checked: 1 }, 'checked: 1'],
    ["leakDetection: 'no'", { leakDetection: 'no' }, 'leakDetection: "no"'],
    ['checked: null', { checked: null }, 'checked: null'],
    ['slabBytes: null', { slabBytes: null }, 'slabBytes'],
  ])('%s → ERR_RIO_INVALID_OPTION naming the key', (_n, options, named) => {
    const e = thrown(() => createPool(options as never));
    expect(e.code).toBe('ERR_RIO_INVALID_OPTION');
    expect(e.message).toContain(named);
  });

  test('options that are not an object, a revoked proxy, a getter that throws → ERR_RIO_INVALID_OPTION', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwing = {
      get checked(): boolean {
        throw new Error('no');
      },
    };
    for (const bad of [42, 'x', null, [], proxy, throwing]) {
      expect(thrown(() => createPool(bad as never)).code).toBe('ERR_RIO_INVALID_OPTION');
    }
  });

  test('createMemoryPool({pageSize: 2**31}) is refused at once', () => {
    const e = thrown(() => createMemoryPool({ pageSize: 2 ** 31 }));
    expect(e.code).toBe('ERR_RIO_INVALID_OPTION');
    expect(e.message).toContain('pageSize');
  });
});

describe('functions that take a pool refuse anything else with a RioError', () => {
  test.each([
    ['createServer', (p: unknown) => createServer(p as Pool)],
    ['leaseReader', (p: unknown) => leaseReader(p as Pool, 64, () => {})],
    ['checkInvariants', (p: unknown) => checkInvariants(p as Pool)],
    ['assertNoOutstanding', (p: unknown) => assertNoOutstanding(p as Pool)],
    ['describeHandle', (p: unknown) => describeHandle(p as Pool, 0, { bufferId: 0, offset: 0, length: 0 })],
  ])('%s(non-pool)', (_n, call) => {
    for (const bad of [undefined, null, {}, 42, new Proxy({}, {})]) expect(thrown(() => call(bad)).code).toBe('ERR_RIO_INVALID_OPTION');
  });

  test('connect(non-pool) rejects with ERR_RIO_INVALID_OPTION', async () => {
    await expect(connect({} as Pool, { port: 1 })).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
  });

  test('createServer(closedPool) and connect(closedPool) → ERR_RIO_POOL_CLOSED', async () => {
    const pool = createPool({ backend: 'none' });
    await pool.close();
    expect(thrown(() => createServer(pool, { datapath: 'net' })).code).toBe('ERR_RIO_POOL_CLOSED');
    await expect(connect(pool, { port: 1 }, { datapath: 'net' })).rejects.toEqual(code('ERR_RIO_POOL_CLOSED'));
  });
});

describe('createServer / listen / connect options', () => {
  let pool: Pool;
  beforeEach(() => {
    pool = createPool();
  });
  afterEach(async () => {
    await pool.close();
  });

  test.each([
    [{ receiveSize: null }, 'receiveSize'],
    [{ highWaterMark: Number.NaN }, 'highWaterMark'],
    [{ allowHalfOpen: 'yes' }, 'allowHalfOpen'],
    [{ datapth: 'net' }, 'datapth'],
    [{ receive: 'rings' }, 'receive'],
  ])('createServer(pool, %o) → ERR_RIO_INVALID_OPTION', (options, named) => {
    const e = thrown(() => createServer(pool, options as never));
    expect(e.code).toBe('ERR_RIO_INVALID_OPTION');
    expect(e.message).toContain(named);
  });

  test('createServer(pool, {}, 42): the listener is checked', () => {
    expect(thrown(() => createServer(pool, {}, 42 as never)).message).toContain('onConnection');
  });

  test.each([[-1], [65536], [1.5], ['80'], [null]])('listen({port: %p}) rejects with ERR_RIO_INVALID_OPTION', async (port) => {
    const server = createServer(pool);
    await expect(server.listen({ port: port as number })).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
    await expect(server.listen({ backlog: -1 })).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
    await expect(server.listen({ host: 7 as never })).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
    await server.close();
  });

  (isLinux ? test : test.skip).each(['uring', 'net'] as const)(
    'connect(pool, {port: -1 | NaN | 1.5 | "80" | 1n | null | missing}) on %s → ERR_RIO_INVALID_OPTION, no fd leaked',
    async (datapath) => {
      if (datapath === 'uring' && !pool.stats().backend.startsWith('uring')) return;
      // Open the datapath first, so that what it opens once (the ring's own fds) is not counted.
      const server = createServer(pool, { datapath });
      const { port } = await server.listen();
      const c = await connect(pool, { port }, { datapath });
      const closed = new Promise((r) => c.once('close', r));
      c.destroy();
      await closed;
      const before = fds();
      for (const bad of [-1, Number.NaN, 1.5, '80', 1n, null, undefined, 0, 70000]) {
        for (let i = 0; i < 5; i++) {
          await expect(connect(pool, { port: bad as number }, { datapath })).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
        }
      }
      await expect(connect(pool, undefined as never, { datapath })).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
      await expect(connect(pool, { port, host: 5 as never }, { datapath })).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
      expect(fds()).toBeLessThanOrEqual(before); // the server side of `c` may close meanwhile: fewer, never more
      await server.close();
    },
  );

  test('conn.write(lease, null) is a bad length, not "the whole lease"', async () => {
    const server = createServer(pool, { datapath: 'net' });
    const { port } = await server.listen();
    const c = await connect(pool, { port }, { datapath: 'net' });
    const lease = pool.acquire(8);
    expect(thrown(() => c.write(lease, null as never)).code).toBe('ERR_RIO_INVALID_LENGTH');
    lease.release();
    c.destroy();
    server.closeAllConnections();
    await server.close();
  });
});

describe('net helpers', () => {
  test('writeLease(sock, lease, 16, 42): the callback is checked at once and no reference is taken', async () => {
    const pool = createPool({ backend: 'none' });
    const lease = pool.acquire(64);
    const sock = new net.Socket();
    const e = thrown(() => writeLease(sock, lease, 16, 42 as never));
    expect(e.code).toBe('ERR_RIO_INVALID_OPTION');
    expect(e.message).toContain('cb: 42');
    lease.release();
    expect(lease.released).toBe(true);
    sock.destroy();
    await pool.close();
  });

  test('adoptSocket(accepted, undefined) is refused before the handle is taken: the socket still works', async () => {
    const pool = createPool({ backend: 'none' });
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect(port, '127.0.0.1');
    const sock = await accepted;
    expect(thrown(() => adoptSocket(sock, undefined as never)).code).toBe('ERR_RIO_INVALID_OPTION');
    expect(
      thrown(() =>
        adoptSocket(
          {} as never,
          leaseReader(pool, 64, () => {}),
        ),
      ).code,
    ).toBe('ERR_RIO_INVALID_OPTION');
    const got = new Promise<string>((r) => client.once('data', (d) => r(d.toString())));
    sock.resume();
    sock.write('still mine');
    expect(await got).toBe('still mine');
    client.destroy();
    sock.destroy();
    await new Promise((r) => server.close(r));
    await pool.close();
  });
});

describe('LeaseWriter and ReceiveBuffer options', () => {
  test.each([
    ['LeaseWriter', { initialBytes: null }, 'initialBytes'],
    ['LeaseWriter', { initialbytes: 64 }, 'initialbytes'],
    ['ReceiveBuffer', { maxBytes: null }, 'maxBytes'],
    ['ReceiveBuffer', { maxBytes: '1' }, 'maxBytes'],
  ])('%s(%o) → ERR_RIO_INVALID_OPTION', async (which, options, named) => {
    const pool = createPool({ backend: 'none' });
    const e = thrown(() => (which === 'LeaseWriter' ? new LeaseWriter(pool, options as never) : new ReceiveBuffer(options as never)));
    expect(e.code).toBe('ERR_RIO_INVALID_OPTION');
    expect(e.message).toContain(named);
    expect(pool.stats().totals.leased).toBe(0);
    await pool.close();
  });
});

describe('runReport', () => {
  test.each([
    [{ buffers: 2 ** 31, size: '512' }, 'buffers'],
    [{ buffers: 0, size: '512' }, 'buffers'],
    [{ buffers: 10, size: 512 }, 'size'],
    [{ buffers: 10, size: '512', seed: 'x' }, 'seed'],
    [{ buffers: 10, size: '512', onProgress: 1 }, 'onProgress'],
    [{ buffers: 10, size: '512', bufers: 1 }, 'bufers'],
    [{ buffers: 10, size: 'lots' }, 'lots'],
  ])('runReport(%o) → ERR_RIO_INVALID_OPTION before anything runs', (options, named) => {
    const e = thrown(() => runReport(options as never));
    expect(e.code).toBe('ERR_RIO_INVALID_OPTION');
    expect(e.message).toContain(named);
  });
});

describe('no throw into the event loop', () => {
  test("net datapath: pool.close() with a connection open, then the peer sends: no uncaught error, the connection gets an 'error' or closes", () => {
    const r = runChild(`
      const net = require('node:net');
      const seen = [];
      process.on('uncaughtException', (e) => { console.log(JSON.stringify({ uncaught: String(e && e.code) })); process.exit(3); });
      (async () => {
        const pool = riopool.createPool();
        const server = riopool.createServer(pool, { datapath: 'net' }, (conn) => {
          conn.on('data', (l) => l.release());
          conn.on('error', (e) => seen.push(e.code));
        });
        const { port } = await server.listen();
        const peer = net.connect(port, '127.0.0.1');
        peer.on('error', () => {});
        await new Promise((r) => peer.once('connect', r));
        await new Promise((r) => setTimeout(r, 50));
        const closing = pool.close();
        for (let i = 0; i < 20; i++) { peer.write('x'.repeat(1000)); await new Promise((r) => setTimeout(r, 5)); }
        await new Promise((r) => setTimeout(r, 100));
        peer.destroy();
        server.closeAllConnections();
        await server.close();
        await closing;
        console.log(JSON.stringify({ settled: true, errors: seen }));
      })();
    `);
    expect(r.json).toEqual(expect.objectContaining({ settled: true }));
    expect(r.status).toBe(0);
  });
});

describe('issue 27: the corners that got past validation', () => {
  test.each([
    ['createPool backend', () => createPool({ backend: null } as never), 'backend: null'],
    ['createPool maxRegisteredBytes', () => createPool({ maxRegisteredBytes: null } as never), 'maxRegisteredBytes: null'],
    ['createPool overflow', () => createPool({ overflow: null } as never), 'overflow: null'],
    ['runReport backend', () => runReport({ buffers: 1, size: '512', backend: null } as never), 'backend: null'],
    ['createCheckedPool options', () => createCheckedPool(42 as never), 'must be an object'],
    ['createCheckedPool backend', () => createCheckedPool({ backend: null } as never), 'backend: null'],
    ['createCheckedPool checked: false', () => createCheckedPool({ checked: false }), 'must be true'],
    ['MemoryRegistrar options', () => new MemoryRegistrar(null as never), 'must be an object'],
    ['MemoryRegistrar pageSize', () => new MemoryRegistrar({ pageSize: 1000 }), 'pageSize: 1000'],
    ['workloadLengths 2 ** 31', () => workloadLengths(2 ** 31, '512', 1), 'buffers: 2147483648'],
    ['workloadLengths size', () => workloadLengths(1, 512 as never, 1), 'size: 512'],
    ['workloadLengths seed', () => workloadLengths(1, '512', Number.NaN), 'seed: NaN'],
    ['heldBytes backend', () => heldBytes({ pinnedBytes: 1, lockedBytes: 1 } as never, 'bogus' as never), 'backend: "bogus"'],
    ['heldBytes result', () => heldBytes(null as never, 'uring'), 'result: null'],
    ['heldBytes figure', () => heldBytes({ pinnedBytes: '1', lockedBytes: 1 } as never, 'uring'), 'result.pinnedBytes: "1"'],
    ['lengthArbitrary max', () => lengthArbitrary(fc, { max: 2 ** 40 }), 'max: 1099511627776'],
    ['workloadArbitrary maxSteps', () => workloadArbitrary(fc, { maxSteps: 2 ** 31 }), 'maxSteps: 2147483648'],
    ['workloadArbitrary options', () => workloadArbitrary(fc, null as never), 'must be an object'],
  ])('%s: ERR_RIO_INVALID_OPTION naming the value', (_name, call, text) => {
    const e = thrown(call);
    expect(e.code).toBe('ERR_RIO_INVALID_OPTION');
    expect(e.message).toContain(text);
  });

  test('writeLease(socket, null) and writeLeaseAsync: a RioError, not a TypeError', async () => {
    const socket = new net.Socket();
    expect(thrown(() => writeLease(socket, null as never)).code).toBe('ERR_RIO_INVALID_BUFFER');
    expect(thrown(() => writeLease(socket, undefined as never, 1)).code).toBe('ERR_RIO_INVALID_BUFFER');
    await expect(writeLeaseAsync(socket, null as never)).rejects.toMatchObject({ code: 'ERR_RIO_INVALID_BUFFER' });
    socket.destroy();
  });

  test('describeHandle: a pool, a handle and a writable out, each checked; nothing taken', async () => {
    const pool = createPool();
    const h = pool.acquireInto(64, { bufferId: 0, offset: 0, length: 0 });
    expect(thrown(() => describeHandle({} as never, h, { bufferId: 0, offset: 0, length: 0 })).code).toBe('ERR_RIO_INVALID_OPTION');
    expect(thrown(() => describeHandle(pool, h, null as never)).code).toBe('ERR_RIO_INVALID_BUFFER');
    expect(thrown(() => describeHandle(pool, h, Object.freeze({ bufferId: 0, offset: 0, length: 0 }))).code).toBe('ERR_RIO_INVALID_BUFFER');
    const out = { bufferId: -1, offset: -1, length: -1 };
    expect(describeHandle(pool, h, out)).toBe(64);
    expect(out.length).toBe(64);
    pool.releaseHandle(h);
    checkInvariants(pool);
    await pool.close();
  });

  test('runWorkload: bad steps refused, and a step that throws gives back every reference the run took', async () => {
    const pool = createMemoryPool();
    expect(thrown(() => runWorkload(pool, 'acquire' as never)).code).toBe('ERR_RIO_INVALID_OPTION');
    expect(thrown(() => runWorkload({} as never, [])).code).toBe('ERR_RIO_INVALID_OPTION');
    expect(thrown(() => runWorkload(pool, [{ kind: 'free', pick: 0 } as never])).code).toBe('ERR_RIO_INVALID_OPTION');
    const steps = [
      { kind: 'acquire', length: 100 },
      { kind: 'acquire', length: 5000 },
      { kind: 'retain', pick: 0 },
      { kind: 'acquire', length: 2 ** 40 }, // refused by acquire: ERR_RIO_INVALID_LENGTH
    ] as const;
    expect(thrown(() => runWorkload(pool, steps)).code).toBe('ERR_RIO_INVALID_LENGTH');
    expect(pool.stats().totals.leased).toBe(0);
    checkInvariants(pool);
    await pool.close();
  });

  test('overflow: false past the budget: ERR_RIO_MEMLOCK naming RLIMIT_MEMLOCK and how to raise it', async () => {
    // An explicit budget: the option named, and the OS's limit beside it.
    const pool = createPool({ maxRegisteredBytes: 0, overflow: false });
    const given = thrown(() => pool.acquire(512));
    expect(given.code).toBe('ERR_RIO_MEMLOCK');
    expect(given.message).toMatch(/maxRegisteredBytes.*option/);
    if (pool.stats().backend !== 'none') expect(given.message).toContain('RLIMIT_MEMLOCK');
    await pool.close();
    // The default budget: RLIMIT_MEMLOCK of 4 MiB for an unprivileged child (root is not limited).
    if (!canDropPrivileges) return;
    const r = runNode(
      `const { createPool } = require(${JSON.stringify(POOL_DIST)});
       const pool = createPool({ overflow: false });
       const leases = [];
       try { for (let i = 0; i < 64; i++) leases.push(pool.acquire(256 * 1024)); console.log(JSON.stringify({ code: 'none' })); }
       catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
      { asNobody: true, memlockBytes: 4 * 1024 * 1024 },
    );
    const out = r.json;
    expect(out.code).toBe('ERR_RIO_MEMLOCK');
    expect(out.message).toContain('RLIMIT_MEMLOCK');
    expect(out.message).toContain('ulimit -l');
  });
});
