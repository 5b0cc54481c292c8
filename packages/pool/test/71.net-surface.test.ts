// Issue 27: node:net's everyday surface on a Connection and a Server, on each datapath:
// addresses, setNoDelay / setKeepAlive, setTimeout + 'timeout', write(bytes | string), destroy(Error),
// 'listening' / 'close', host names, and for-await over a connection that already ended or closed.
// Then a node:net echo / key-value server ported to createServer by renaming what it imports.
import * as net from 'node:net';
import { connect, createPool, createServer, type Connection, type Pool } from '@riopool/pool';
import { DATAPATHS, settleCheckAndClose, sleep } from './helpers';

/** Reads from a node:net socket until `n` bytes have come. */
function readBytes(socket: net.Socket, n: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('utf8');
      if (Buffer.byteLength(got) >= n) resolve(got);
    });
  });
}

describe.each(DATAPATHS)('datapath %s', (datapath) => {
  let pool: Pool;
  beforeEach(() => {
    pool = createPool();
  });
  afterEach(async () => {
    await settleCheckAndClose(pool);
  });

  test("addresses, setNoDelay, setKeepAlive, 'listening' and 'close', host 'localhost'", async () => {
    const server = createServer(pool, { datapath });
    const events: string[] = [];
    server.on('listening', () => events.push('listening')).on('close', () => events.push('close'));
    let accepted: Connection | undefined;
    server.on('connection', (c) => {
      accepted = c;
    });
    const { port, host } = await server.listen({ port: 0, host: 'localhost' });
    expect(net.isIP(host)).not.toBe(0);
    expect(server.address()).toEqual({ port, host });
    const conn = await connect(pool, { port, host: 'localhost' }, { datapath });
    expect(conn.remotePort).toBe(port);
    expect(conn.remoteAddress).toBe(host);
    expect(conn.remoteFamily).toBe(net.isIPv6(host) ? 'IPv6' : 'IPv4');
    expect(conn.setNoDelay(true)).toBe(conn);
    expect(conn.setKeepAlive(true, 1000)).toBe(conn);
    for (let i = 0; i < 200 && accepted === undefined; i++) await sleep(5);
    expect(accepted!.localPort).toBe(port);
    expect(accepted!.localAddress).toBe(host);
    // Both ends on both datapaths: the OS's (uring asks getsockname / getpeername).
    expect(accepted!.remotePort).toBe(conn.localPort);
    expect(accepted!.remoteAddress).toBe(host);
    expect(accepted!.remoteFamily).toBe(conn.remoteFamily);
    expect(conn.localAddress).toBe(host);
    expect(conn.localPort).toBeGreaterThan(0);
    expect(() => conn.setNoDelay('yes' as never)).toThrow(expect.objectContaining({ code: 'ERR_RIO_INVALID_OPTION' }));
    await expect(connect(pool, { port, host: 'no-such-host.invalid' }, { datapath })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    conn.destroy();
    server.closeAllConnections();
    await server.close();
    expect(events).toEqual(['listening', 'close']);
  });

  test('setKeepAlive arms and disarms the kernel keepalive timer of the real socket; setNoDelay(false) is taken', async () => {
    if (process.platform !== 'linux') return; // /proc/net/tcp says which timer a socket runs
    const server = createServer(pool, { datapath }, (c) => c.on('error', () => {}));
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    const conn = await connect(pool, { port, host: '127.0.0.1' }, { datapath });
    const hex = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
    /** The `tr` field (the timer the kernel runs: 0 none, 2 keepalive) of conn's socket. */
    const timer = () => {
      const line = require('node:fs')
        .readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .map((l: string) => l.trim().split(/\s+/))
        .find((f: string[]) => f[1]?.endsWith(`:${hex(conn.localPort!)}`) && f[2]?.endsWith(`:${hex(port)}`));
      return line?.[5]?.split(':')[0];
    };
    expect(timer()).toBe('00');
    conn.setKeepAlive(true, 60_000);
    expect(timer()).toBe('02');
    conn.setKeepAlive(false);
    expect(timer()).toBe('00');
    expect(conn.setNoDelay(false)).toBe(conn);
    expect(conn.setNoDelay(true)).toBe(conn);
    conn.destroy();
    server.closeAllConnections();
    await server.close();
  });

  test("write(string | Uint8Array) copies into leases; setTimeout emits 'timeout'; destroy(Error) emits that error", async () => {
    const server = createServer(pool, { datapath }, (c) => {
      c.on('data', (lease) => {
        c.write(lease); // echo
        lease.release();
      });
      c.on('error', () => {});
    });
    const { port } = await server.listen({ port: 0 });
    const conn = await connect(pool, { port }, { datapath });
    let echoed = '';
    conn.on('data', (lease) => {
      echoed += lease.bytes.toString('utf8');
      lease.release();
    });
    const big = 'x'.repeat(100_000);
    expect(conn.write('héllo ')).toBe(true);
    conn.write(new TextEncoder().encode('wörld '));
    conn.write('6869', 'hex');
    conn.write(big);
    for (let i = 0; i < 1000 && echoed.length < 14 + big.length; i++) await sleep(5);
    expect(echoed).toBe(`héllo wörld hi${big}`);
    expect(() => conn.write('x', 'nope' as never)).toThrow(expect.objectContaining({ code: 'ERR_RIO_INVALID_OPTION' }));

    // Idle: 'timeout' (the connection stays open), then off with 0.
    await new Promise<void>((resolve) => conn.setTimeout(20, resolve));
    expect(conn.destroyed).toBe(false);
    conn.setTimeout(0);
    const mine = new Error('mine');
    const errors: Error[] = [];
    conn.on('error', (e) => errors.push(e));
    const closed = new Promise((r) => conn.once('close', r));
    conn.destroy(mine);
    await closed;
    expect(errors).toEqual([mine]);
    server.closeAllConnections();
    await server.close();
  });

  test('for await over a connection whose peer already ended, or that already closed: the loop ends', async () => {
    const server = createServer(pool, { datapath, allowHalfOpen: true }, (c) => c.end());
    const { port } = await server.listen({ port: 0 });
    const conn = await connect(pool, { port }, { datapath, allowHalfOpen: true });
    await new Promise((r) => conn.once('end', r)); // the peer ended before any loop began
    const got: number[] = [];
    for await (using lease of conn) got.push(lease.length);
    expect(got).toEqual([]);
    conn.destroy();
    await new Promise((r) => conn.once('close', r));
    for await (using lease of conn) got.push(lease.length); // already closed
    expect(got).toEqual([]);
    await server.close();
  });

  test('a node:net echo / key-value server, ported to createServer by renaming what it imports', async () => {
    // The same handler serves both: with node:net, socket is a net.Socket and chunks are Buffers;
    // with riopool, socket is a Connection and chunks are leases (their bytes, then released).
    const store = new Map<string, string>();
    type Socket = { write(s: string): unknown; end(): unknown; setNoDelay(b: boolean): unknown; setTimeout(ms: number): unknown };
    const handler = (socket: Socket & { on(e: string, f: (...a: never[]) => void): unknown }, text: (chunk: never) => string) => {
      socket.setNoDelay(true);
      socket.setTimeout(60_000);
      socket.on('timeout', () => socket.end());
      socket.on('error', () => {});
      socket.on('data', (chunk: never) => {
        for (const line of text(chunk).split('\n').filter(Boolean)) {
          const [cmd, key = '', value = ''] = line.split(' ');
          if (cmd === 'SET') store.set(key, value);
          socket.write(cmd === 'GET' ? `${store.get(key) ?? '-'}\n` : cmd === 'SET' ? 'OK\n' : `${line}\n`);
        }
      });
    };
    const asNet = net.createServer((s) => handler(s, (b: Buffer) => b.toString()));
    const asRiopool = createServer(pool, { datapath }, (c) =>
      handler(c, (lease: import('@riopool/pool').Lease) => {
        const s = lease.bytes.toString();
        lease.release();
        return s;
      }),
    );
    await new Promise<void>((r) => asNet.listen(0, '127.0.0.1', r));
    const ports = [(asNet.address() as net.AddressInfo).port, (await asRiopool.listen({ port: 0 })).port];
    const replies = await Promise.all(
      ports.map(async (port) => {
        const s = net.connect(port, '127.0.0.1');
        const reply = readBytes(s, 'OK\nvalue\nhello\n'.length);
        s.write(`SET k${port % 2} value\nGET k${port % 2}\nhello\n`);
        const r = await reply;
        s.destroy();
        return r;
      }),
    );
    expect(replies).toEqual(['OK\nvalue\nhello\n', 'OK\nvalue\nhello\n']);
    asRiopool.closeAllConnections();
    await Promise.all([asRiopool.close(), new Promise((r) => asNet.close(r))]);
  });
});
