/**
 * Liveness: one request at a time. A client in another process (plain node:net) makes 500
 * sequential round trips of 32 bytes on one connection to an echo server on each datapath, alone
 * and with 100 idle connections open beside it, and every reply must come back byte for byte.
 *
 * The bound is the one timing threshold this suite allows: 500 round trips in under 5 s, 10 ms
 * each, 50-100x a healthy round trip on loopback. A wake-up that waits on the kernel (the ring's
 * eventfd signal deferred through RCU took 16 ms a round trip on HZ-250 kernels) fails it; a slow
 * host does not. The client is another process so that its writes reach the server through the
 * network's softirq, as a real peer's do, not from the server's own thread.
 */
import { spawn } from 'node:child_process';
import { createPool, toDuplex, type Connection, type IoOptions, type Pool } from '@riopool/pool';
import { DATAPATHS, echo, echoServer as sharedEchoServer, settleCheckAndClose } from './helpers';

/** Echoes a connection's bytes through a node:stream Duplex over it. */
function echoThroughDuplex(conn: Connection): void {
  const s = toDuplex(conn);
  s.on('data', (chunk: Buffer) => s.write(chunk));
  s.on('error', () => {});
}

const ROUND_TRIPS = 500;
const BOUND_MS = 5000;

/** The client: opens `idle` connections and waits for them, then times ROUND_TRIPS echoes. */
const CLIENT = `
const net = require('node:net');
const [port, idle, trips] = process.argv.slice(1).map(Number);
const fail = (why) => { console.log(JSON.stringify({ error: why })); process.exit(1); };
const open = () => new Promise((resolve, reject) => {
  const s = net.connect(port, '127.0.0.1', () => resolve(s));
  s.once('error', reject);
});
(async () => {
  const idlers = [];
  for (let i = 0; i < idle; i++) idlers.push(await open());
  const s = await open();
  s.setNoDelay(true);
  let pending = null;
  let got = Buffer.alloc(0);
  s.on('data', (d) => {
    got = Buffer.concat([got, d]);
    if (pending && got.length >= pending.want.length) pending.done();
  });
  s.on('error', (e) => fail(String(e)));
  const times = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < trips; i++) {
    const want = Buffer.from(String(i).padStart(31, '.') + '\\n');
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => { pending = { want, done: resolve }; s.write(want); });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!got.subarray(0, want.length).equals(want)) fail('round trip ' + i + ': ' + JSON.stringify(got.toString()));
    got = got.subarray(want.length);
    pending = null;
  }
  const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ totalMs, p50: times[times.length >> 1], max: times[times.length - 1] }));
  s.destroy();
  for (const c of idlers) c.destroy();
})().catch((e) => fail(String(e)));
`;

interface Timing {
  totalMs: number;
  p50: number;
  max: number;
  error?: string;
}

function runClient(port: number, idle: number): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CLIENT, String(port), String(idle), String(ROUND_TRIPS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as Timing);
      } catch {
        reject(new Error(`the client printed: ${out}`));
      }
    });
  });
}

type Variant = { name: string; options: IoOptions; duplex: boolean };
const VARIANTS: Variant[] = DATAPATHS.flatMap((datapath) => [
  { name: `${datapath}`, options: { datapath }, duplex: false },
  ...(datapath === 'uring' ? [{ name: 'uring, receive: lease', options: { datapath, receive: 'lease' as const }, duplex: false }] : []),
  { name: `${datapath} through toDuplex`, options: { datapath }, duplex: true },
]);

describe.each(VARIANTS)('$name', ({ options, duplex }) => {
  let pool: Pool;
  beforeEach(() => {
    pool = createPool();
  });
  afterEach(() => settleCheckAndClose(pool));

  /** An echo server, through toDuplex for the duplex variants. */
  const echoServer = () => sharedEchoServer(pool, options, duplex ? echoThroughDuplex : echo);

  test.each([0, 100])(
    `${ROUND_TRIPS} round trips one at a time with %i idle connections beside, in under ${BOUND_MS / 1000} s`,
    async (idle) => {
      const server = await echoServer();
      try {
        const t = await runClient(server.port, idle);
        expect(t.error).toBeUndefined();
        expect(server.connections()).toBe(idle + 1);
        // On failure the message says how slow: the total, the median and the slowest round trip.
        expect({ ...t, under: t.totalMs < BOUND_MS }).toEqual({ ...t, under: true });
      } finally {
        await server.close();
      }
    },
  );
});
