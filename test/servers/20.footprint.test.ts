/**
 * What a server's traffic leaves pinned, measured on the example Redis server in a process of its
 * own (/proc/<pid>/status), with its clients in other processes (a process may hold 20,000 open
 * files here, the server's sockets and the clients' would not fit in one):
 *   - idle connections pin nothing: as many as one process may hold, and it still answers;
 *   - after a burst (a 10 MiB value, then 1,000 connections that close) VmPin comes back to
 *     within 2 MiB of what it was, within 10 s, with no trim();
 *   - as an unprivileged user with the default 8 MiB RLIMIT_MEMLOCK, 3,000 connections of
 *     pipelined SET / GET for 30 s: every reply right, the server alive, its stats showing the
 *     registered and the unregistered (overflow) bytes.
 */
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { canDropPrivileges, isLinux, unprivilegedUid, sleep } from '../support';
import { startIdleClients, startServerProcess, type ServerProcess } from '../../bench/processes';

const BENCH_DIST = path.join(__dirname, '../../bench/dist');
const linux = isLinux ? describe : describe.skip;

/** A connection that sends commands and collects their replies (RESP), in order. */
async function open(port: number): Promise<{ send(...args: string[]): Promise<string>; close(): void }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = '';
  const waiting: ((reply: string) => void)[] = [];
  socket.on('data', (d) => {
    buffered += d.toString('latin1');
    while (waiting.length > 0) {
      // One reply: a line, or a bulk string's header line, its bytes and CR LF.
      const header = buffered.indexOf('\r\n') + 2;
      if (header < 2) return;
      const length = buffered[0] === '$' ? header + Number(buffered.slice(1, header - 2)) + 2 : header;
      if (buffered.length < length) return;
      const reply = buffered.slice(0, length);
      buffered = buffered.slice(length);
      waiting.shift()!(reply.trimEnd());
    }
  });
  const send = (...args: string[]) =>
    new Promise<string>((resolve) => {
      waiting.push(resolve);
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`, 'latin1');
    });
  return { send, close: () => socket.destroy() };
}

/** Waits until `cond` holds, polling every 100 ms for at most `ms`; returns how long it took (Infinity: never). */
async function within(ms: number, cond: () => boolean): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (cond()) return Date.now() - t0;
    if (Date.now() - t0 > ms) return Number.POSITIVE_INFINITY;
    await sleep(100);
  }
}

linux('the example server, measured from outside', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  test('19,000 idle connections: held, VmPin does not grow with them (0.5 kB each at most), and PING is still answered', async () => {
    server = await startServerProcess('uring');
    const keeper = await open(server.port); // the datapath up, its receive ring lent, for the baseline
    expect(await keeper.send('PING')).toBe('+PONG');
    const before = server.memory();
    const clients = await Promise.all([startIdleClients(server.port, 9500), startIdleClients(server.port, 9500)]);
    const during = server.memory();
    expect(clients.map((c) => c.count)).toEqual([9500, 9500]);
    expect(await keeper.send('PING')).toBe('+PONG');
    const late = await open(server.port); // a new connection is accepted and answered too
    expect(await late.send('ECHO', 'still here')).toBe('$10\r\nstill here');
    expect((during.pinned - before.pinned) / 19000).toBeLessThanOrEqual(512);
    late.close();
    keeper.close();
    await Promise.all(clients.map((c) => c.stop()));
  }, 180_000);

  test('after a burst (a 10 MiB value set and deleted, 1,000 connections that close), VmPin is back within 2 MiB in 10 s, no trim()', async () => {
    server = await startServerProcess('uring');
    const c = await open(server.port);
    expect(await c.send('PING')).toBe('+PONG');
    c.close();
    await sleep(2500); // the ring parks once nobody receives: the quiet baseline
    const baseline = server.memory().pinned;
    const big = await open(server.port);
    expect(await big.send('SET', 'big', 'x'.repeat(10 << 20))).toBe('+OK');
    expect((await big.send('GET', 'big')).length).toBe((10 << 20) + '$10485760\r\n'.length);
    expect(await big.send('DEL', 'big')).toBe(':1');
    big.close();
    const clients = await startIdleClients(server.port, 1000);
    const peak = server.memory().pinned;
    await clients.stop();
    const took = await within(10_000, () => server!.memory().pinned <= baseline + 2 * 1024 * 1024);
    expect(peak).toBeGreaterThan(baseline); // the burst did pin memory
    expect(took).toBeLessThanOrEqual(10_000);
  }, 60_000);

  (canDropPrivileges ? test : test.skip)(
    'as an unprivileged user with an 8 MiB memlock limit: 3,000 connections of pipelined SET / GET for 30 s, every reply right, registered and unregistered bytes in stats',
    async () => {
      // A uid of its own (as 65534 is, with no passwd entry): io_uring charges pins to the user, so
      // another suite running as the same user at once would eat this server's 8 MiB.
      const uid = String(unprivilegedUid());
      const asNobody = ['prlimit', '--memlock=8388608:8388608', 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
      // Overflow is what this test drives the server into (and asserts in its stats): its
      // RIOPOOL_OVERFLOW warning would only be a stray line in a passing run's output.
      const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --disable-warning=RIOPOOL_OVERFLOW`.trim() };
      server = await startServerProcess('uring', { command: asNobody, env });
      const admin = await open(server.port);
      const seconds = Number(process.env.LOAD_SECONDS ?? 30);
      const load = spawn(process.execPath, [
        path.join(BENCH_DIST, 'load-clients.js'),
        String(server.port),
        '3000',
        String(seconds),
        '16',
        '16384',
      ]);
      let out = '';
      load.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // Meanwhile: the pool's figures, every second (the overflow shows while the load is on).
      let registered = 0;
      let unregistered = 0;
      let budget = 0;
      const watching = setInterval(() => {
        void admin.send('RIOPOOL', 'STATS').then((reply) => {
          const { totals } = JSON.parse(reply.slice(reply.indexOf('\n') + 1)) as { totals: Record<string, number> };
          registered = Math.max(registered, totals.registeredBytes!);
          unregistered = Math.max(unregistered, totals.unregisteredBytes!);
          budget = totals.registeredBudget!;
        });
      }, 1000);
      const code = await new Promise<number | null>((resolve) => load.once('exit', resolve));
      clearInterval(watching);
      expect(code).toBe(0);
      const tally = JSON.parse(out) as { requests: number; right: number; wrong: number; errors: string[]; closed: number };
      expect(tally.errors).toEqual([]);
      expect(tally.wrong).toBe(0);
      expect(tally.right).toBe(tally.requests);
      expect(tally.requests).toBeGreaterThan(3000 * 16);
      expect(tally.closed).toBe(3000);
      expect(server.child.exitCode).toBeNull(); // alive
      expect(await admin.send('PING')).toBe('+PONG');
      // The budget is what the 8 MiB limit leaves; past it the pool served overflow slabs.
      expect(budget).toBeGreaterThan(0);
      expect(budget).toBeLessThanOrEqual(8 * 1024 * 1024);
      expect(registered).toBeGreaterThan(0);
      expect(registered).toBeLessThanOrEqual(8 * 1024 * 1024);
      expect(unregistered).toBeGreaterThan(0);
      admin.close();
    },
    120_000,
  );
});
