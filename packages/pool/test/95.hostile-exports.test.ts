// Issue 27: every exported function of @riopool/pool, @riopool/pool/testing and
// @riopool/pool/report, called with hostile arguments (fast-check's anything(), null, numbers that
// would exhaust the heap, revoked proxies, getters that throw) mixed with good ones (a pool, a
// lease, a socket, a connection, fast-check itself), so that each call gets past its first checks
// in some runs. Every call returns, or throws (or rejects with) a RioError: no TypeError, no
// abort. What a call makes is closed again, and at the end no lease is outstanding and the fds
// are back where they were. A function exported later and missing from CALLS fails the first test.
//
//   FC_SEED=<seed> npx jest packages/pool/test/95.hostile-exports.test.ts    replays a run
import * as net from 'node:net';
import fc from 'fast-check';
import * as api from '@riopool/pool';
import * as testing from '@riopool/pool/testing';
import * as report from '@riopool/pool/report';
import { propertyParams } from '../../../test/support';
import { fds, sleep } from './helpers';

/** The good values a call may get in place of a hostile one. */
interface World {
  pool: api.Pool;
  lease: api.Lease;
  conn: api.Connection;
  reader: api.LeaseReader;
  /** Things calls made, closed after each run. */
  made: unknown[];
}
const GOOD = ['pool', 'lease', 'socket', 'conn', 'reader', 'fc', 'result', 'opts'] as const;

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}
const throwing = () =>
  new Proxy(
    {},
    {
      get() {
        throw new Error('a getter that throws');
      },
      ownKeys() {
        throw new Error('ownKeys throws');
      },
    },
  );

const hostile = fc.oneof(
  fc.anything({ withBigInt: true, withTypedArray: true, withNullPrototype: true }),
  fc.constantFrom(
    -1,
    0,
    1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 31,
    2 ** 53,
    1n,
    '512',
    'mixed',
    'uring',
    'lock',
    null,
    undefined,
  ),
  fc.constantFrom('revoked', 'throwing', 'frozen').map((special) => ({ special })),
);
const arg = fc.oneof({ arbitrary: hostile, weight: 3 }, { arbitrary: fc.constantFrom(...GOOD).map((good) => ({ good })), weight: 2 });

function realize(v: unknown, w: World): unknown {
  if (typeof v !== 'object' || v === null || Object.keys(v).length !== 1) return v;
  if ('special' in v) {
    const k = (v as { special: string }).special;
    return k === 'revoked' ? revoked() : k === 'throwing' ? throwing() : Object.freeze({});
  }
  if (!('good' in v)) return v;
  switch ((v as { good: (typeof GOOD)[number] }).good) {
    case 'pool':
      return w.pool;
    case 'lease':
      return w.lease;
    case 'socket': {
      const s = new net.Socket().on('error', () => {});
      w.made.push(s);
      return s;
    }
    case 'conn':
      return w.conn;
    case 'reader':
      return w.reader;
    case 'fc':
      return fc;
    case 'result':
      return { pinnedBytes: 4096, lockedBytes: null };
    case 'opts':
      return {};
  }
}

/** How each export is called: with the drawn arguments, as many as it takes. */
type Call = (a: unknown[]) => unknown;
const n =
  (f: (...args: never[]) => unknown): Call =>
  (a) =>
    (f as (...args: unknown[]) => unknown)(...a);
const make =
  (C: new (...args: never[]) => unknown): Call =>
  (a) =>
    new (C as new (...args: unknown[]) => unknown)(...a);

const CALLS: Record<string, Record<string, Call>> = {
  '@riopool/pool': {
    createPool: n(api.createPool),
    leaseReader: n(api.leaseReader),
    attachReader: n(api.attachReader),
    adoptSocket: n(api.adoptSocket),
    writeLease: n(api.writeLease),
    writeLeaseAsync: n(api.writeLeaseAsync),
    createServer: n(api.createServer),
    connect: n(api.connect),
    isRiopoolWarning: n(api.isRiopoolWarning),
    toDuplex: n(api.toDuplex),
    ReceiveBuffer: make(api.ReceiveBuffer),
    LeaseWriter: make(api.LeaseWriter),
    // An Error subclass: like Error, it takes any values (the code is the caller's to choose).
    RioError: make(api.RioError),
    isRioError: n(api.isRioError),
  },
  '@riopool/pool/testing': {
    checkInvariants: n(testing.checkInvariants),
    describeHandle: n(testing.describeHandle),
    assertNoOutstanding: n(testing.assertNoOutstanding),
    createCheckedPool: n(testing.createCheckedPool),
    createMemoryPool: n(testing.createMemoryPool),
    MemoryRegistrar: make(testing.MemoryRegistrar),
    lengthArbitrary: n(testing.lengthArbitrary),
    workloadArbitrary: n(testing.workloadArbitrary),
    runWorkload: n(testing.runWorkload),
  },
  '@riopool/pool/report': {
    workloadLengths: n(report.workloadLengths),
    heldBytes: n(report.heldBytes),
    // A real run registers up to `buffers` buffers: drawn small here (its bound is its own test's).
    runReport: (a) => report.runReport(a[0] as never),
  },
};
const MODULES: Record<string, object> = { '@riopool/pool': api, '@riopool/pool/testing': testing, '@riopool/pool/report': report };

test('CALLS names every exported function of the three entry points', () => {
  for (const [name, mod] of Object.entries(MODULES)) {
    const functions = Object.entries(mod)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    expect([name, functions]).toEqual([name, Object.keys(CALLS[name]!).sort()]);
  }
});

/** Closes what a call made: pools, servers, sockets, streams, writers, buffers. */
async function dispose(x: unknown, w: World): Promise<void> {
  if (x === w.pool || x === w.conn || typeof x !== 'object' || x === null) return;
  const o = x as Record<string, unknown>;
  if (x instanceof net.Socket) x.destroy();
  else if (typeof o.closeAllConnections === 'function') {
    (o.closeAllConnections as () => void)();
    await (o.close as () => Promise<void>)();
  } else if (typeof o.acquire === 'function') await (o.close as () => Promise<void>)();
  else if (typeof o.destroy === 'function') (o.destroy as () => void)();
  else if (typeof o.release === 'function' && typeof o.take === 'function') (o.release as () => void)();
  else if (typeof o.consume === 'function') (o.release as () => void)();
  else if (typeof o.releaseAll === 'function') (o.releaseAll as () => void)();
}

/** A drawn call: the export and its arguments; runReport's buffers are drawn small. */
const call = fc.oneof(
  ...Object.entries(CALLS).flatMap(([mod, fns]) =>
    Object.keys(fns).map((name) =>
      name === 'runReport'
        ? fc
            .record({ buffers: fc.oneof(fc.constantFrom(-1, 0, 1, 16, 1.5, 2 ** 31, null), hostile), size: arg, seed: arg, backend: arg })
            .map((o) => ({ mod, name, args: [o] as unknown[] }))
        : fc.array(arg, { maxLength: 4 }).map((args) => ({ mod, name, args })),
    ),
  ),
);

describe('every export, hostile arguments', () => {
  let server: api.Server;
  let pool: api.Pool;
  let conn: api.Connection;
  beforeAll(async () => {
    pool = api.createPool();
    server = api.createServer(pool, {}, (c) => c.on('error', () => {}));
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    conn = await api.connect(pool, { port, host: '127.0.0.1' });
    conn.on('error', () => {});
  });
  afterAll(async () => {
    conn.destroy();
    server.closeAllConnections();
    await server.close();
    await pool.close();
  });

  test('each returns, throws a RioError or rejects with one; nothing leaks', async () => {
    const fdsBefore = fds();
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 12 }), async (calls) => {
        const lease = pool.acquire(256);
        const reader = api.leaseReader(pool, 1024, (l) => void l.release());
        const w: World = { pool, lease, conn, reader, made: [] };
        try {
          for (const c of calls) {
            const args = c.args.map((a) => realize(a, w));
            let result: unknown;
            try {
              result = CALLS[c.mod]![c.name]!(args);
              if (result instanceof Promise) result = await result;
            } catch (e) {
              // writeLeaseAsync rejects with the socket's own error (a placeholder socket never connects).
              const socketError =
                c.name === 'writeLeaseAsync' && typeof (e as { code?: unknown })?.code === 'string' && (e as Error).name !== 'TypeError';
              if (!api.isRioError(e) && !socketError) {
                throw new Error(`${c.name}(${args.map((a) => typeof a).join(', ')}) threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
              }
            }
            if (typeof result === 'object' && result !== null && typeof (result as { on?: unknown }).on === 'function') {
              (result as { on(e: string, f: () => void): void }).on('error', () => {});
            }
            w.made.push(result);
          }
        } finally {
          for (const x of w.made) await dispose(x, w);
          if (!lease.released) lease.release();
          // writeLease's reference goes in the write callback of a socket destroyed above.
          await new Promise((r) => setImmediate(r));
        }
        testing.checkInvariants(pool);
        testing.assertNoOutstanding(pool);
      }),
      propertyParams('every export, hostile arguments', 40),
    );
    for (let i = 0; i < 100 && fds() > fdsBefore; i++) await sleep(20);
    expect(fds()).toBeLessThanOrEqual(fdsBefore);
  });
});
