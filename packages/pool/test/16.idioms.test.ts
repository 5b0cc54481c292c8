/**
 * The idioms of current Node on the public API, over real loopback sockets: typed events at run
 * time, `for await (const lease of conn)`, `await using` on a connection, server and pool,
 * AbortSignal on listen and connect, writeLeaseAsync, and what console.log shows.
 */
import { EventEmitter, once } from 'node:events';
import * as net from 'node:net';
import { inspect, promisify } from 'node:util';
import { connect, createPool, createServer, writeLease, writeLeaseAsync, type Connection, type Pool } from '@riopool/pool';
import { code, DATAPATHS, fds, outstanding, settleCheckAndClose, sleep, waitFor } from './helpers';

function send(pool: Pool, conn: Connection, text: string): void {
  const lease = pool.acquire(Buffer.byteLength(text));
  lease.bytes.write(text);
  conn.write(lease);
  lease.release();
}

describe.each(DATAPATHS)('datapath %s', (datapath) => {
  let pool: Pool;
  beforeEach(() => {
    pool = createPool();
  });
  afterEach(() => settleCheckAndClose(pool));

  test('for await (const lease of conn): every byte in order, the loop ends at the peer end', async () => {
    // allowHalfOpen: the server answers after the client's end.
    const server = createServer(pool, { datapath, allowHalfOpen: true }, async (conn) => {
      let got = '';
      for await (const lease of conn) {
        got += lease.bytes.toString('latin1');
        lease.release();
      }
      send(pool, conn, `got ${got.length}:${got.slice(0, 5)}`);
      conn.end();
    });
    const { port } = await server.listen({ port: 0 });
    const client = await connect(pool, { port }, { datapath });
    const payload = 'hello'.repeat(50_000); // 250 kB: more than the iterator's high-water mark
    for (let at = 0; at < payload.length; at += 10_000) send(pool, client, payload.slice(at, at + 10_000));
    client.end();
    let reply = '';
    for await (using lease of client) reply += lease.bytes.toString();
    expect(reply).toBe(`got ${payload.length}:hello`);
    await server.close();
  });

  test('leaving the loop early destroys the connection and releases what it had queued', async () => {
    const server = createServer(pool, { datapath }, (conn) => {
      for (let i = 0; i < 20; i++) send(pool, conn, 'x'.repeat(1000));
    });
    const { port } = await server.listen({ port: 0 });
    const client = await connect(pool, { port }, { datapath });
    const closed = once(client, 'close');
    for await (using _lease of client) break;
    await closed;
    expect(client.closed).toBe(true);
    server.closeAllConnections();
    await server.close();
  });

  test('a connection has one reader: iterating one with a data listener is ERR_RIO_INVALID_OPTION', async () => {
    const server = createServer(pool, { datapath });
    const { port } = await server.listen({ port: 0 });
    const client = await connect(pool, { port }, { datapath });
    client.on('data', (lease) => lease.release());
    expect(() => client[Symbol.asyncIterator]()).toThrow(code('ERR_RIO_INVALID_OPTION'));
    client.destroy();
    server.closeAllConnections();
    await server.close();
  });

  test('a connection error is thrown from the loop', async () => {
    const server = createServer(pool, { datapath }, (conn) => {
      send(pool, conn, 'first');
    });
    const { port } = await server.listen({ port: 0 });
    const client = await connect(pool, { port }, { datapath });
    const loop = (async () => {
      for await (const lease of client) {
        lease.release();
        client.destroy(new Error('stop'));
      }
    })();
    await expect(loop).rejects.toThrow('stop');
    server.closeAllConnections();
    await server.close();
  });

  test("a peer's reset thrown out of an async onConnection's loop destroys that connection, not the process", async () => {
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      let [loops, closed] = [0, 0];
      // The loop's promise is returned and nothing else handles it: the server must.
      const server = createServer(pool, { datapath }, async (conn) => {
        loops++;
        conn.once('close', () => closed++);
        for await (const lease of conn) lease.release();
      });
      const { port } = await server.listen({ port: 0 });
      const reset = net.connect(port, '127.0.0.1');
      await once(reset, 'connect');
      reset.write('hello');
      await sleep(50);
      reset.resetAndDestroy();
      await waitFor(() => closed === 1, 'the reset connection to close');
      const polite = net.connect(port, '127.0.0.1'); // the server still accepts and serves
      await once(polite, 'connect');
      polite.end('bye');
      await waitFor(() => closed === 2 && loops === 2, 'both loops to end');
      await sleep(20);
      expect(rejections).toEqual([]);
      await server.close();
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  test('await using: the connection ends and closes, the server stops, at the end of the scope', async () => {
    let serverSide: Connection | undefined;
    let outer: Connection | undefined;
    {
      await using server = createServer(pool, { datapath }, (conn) => {
        serverSide = conn;
        conn.on('data', (lease) => lease.release());
      });
      const { port } = await server.listen({ port: 0 });
      {
        await using client = await connect(pool, { port }, { datapath });
        outer = client;
        send(pool, client, 'bye');
      }
      expect(outer.closed).toBe(true);
    }
    expect(serverSide?.closed).toBe(true);
  });

  test('connect({ signal }): aborting a connect still in progress closes its socket at once', async () => {
    // 192.0.2.0/24 is TEST-NET-1: where nothing answers, a connect there stays in progress.
    // A refused connect first: it leaves no socket and no lease (the net reader's first lease).
    const closed = net.createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port: closedPort } = closed.address() as net.AddressInfo;
    await new Promise((r) => closed.close(r));
    await expect(connect(pool, { port: closedPort }, { datapath })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await waitFor(() => outstanding(pool) === 0, 'every lease back'); // at the socket's close, just after its error
    const ac = new AbortController();
    let settledEarly = false;
    const attempt = connect(pool, { port: 9, host: '192.0.2.200', signal: ac.signal }, { datapath });
    attempt.then(
      () => (settledEarly = true),
      () => (settledEarly = true),
    );
    await sleep(200);
    if (settledEarly) {
      console.log('connect({ signal }) abort test: 192.0.2.200 answered here; nothing to abort');
      await attempt.then(
        (c) => c.destroy(),
        () => undefined,
      );
      return;
    }
    const during = fds(); // with the socket of the connect in progress
    ac.abort();
    await expect(attempt).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor(() => fds() < during && outstanding(pool) === 0, 'the socket closed and every lease back'); // now, not when the kernel gives up (minutes)
  });

  test('listen({ signal }): aborting closes the server; an aborted signal rejects at once', async () => {
    const server = createServer(pool, { datapath });
    const ac = new AbortController();
    const { port } = await server.listen({ port: 0, signal: ac.signal });
    ac.abort();
    await server.close(); // the close the abort started
    const refused = new Promise((resolve) => net.connect(port, '127.0.0.1').once('error', resolve));
    await expect(refused).resolves.toEqual(expect.objectContaining({ code: 'ECONNREFUSED' }));
    await expect(createServer(pool, { datapath }).listen({ signal: AbortSignal.abort() })).rejects.toEqual(
      expect.objectContaining({ name: 'AbortError', code: 'ABORT_ERR' }),
    );
    await expect(createServer(pool, { datapath }).listen({ signal: 'no' as never })).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
  });

  test('connect({ signal }): an aborted signal rejects; aborting later destroys the connection', async () => {
    const server = createServer(pool, { datapath });
    const { port } = await server.listen({ port: 0 });
    await expect(connect(pool, { port, signal: AbortSignal.abort('why') }, { datapath })).rejects.toEqual(
      expect.objectContaining({ name: 'AbortError', code: 'ABORT_ERR', cause: 'why' }),
    );
    const ac = new AbortController();
    const client = await connect(pool, { port, signal: ac.signal }, { datapath });
    const closed = once(client, 'close');
    ac.abort();
    await closed;
    server.closeAllConnections();
    await server.close();
  });
});

test('events are node:events emitters: instanceof EventEmitter, events.once', async () => {
  const pool = createPool({ backend: 'none' });
  const server = createServer(pool, { datapath: 'net' });
  expect(server).toBeInstanceOf(EventEmitter);
  const { port } = await server.listen({ port: 0 });
  const accepted = once(server, 'connection');
  const client = await connect(pool, { port }, { datapath: 'net' });
  expect(client).toBeInstanceOf(EventEmitter);
  const [conn] = (await accepted) as [Connection];
  const closed = once(conn, 'close');
  client.destroy();
  expect(await closed).toEqual([false]);
  await server.close();
  await pool.close();
});

test('writeLeaseAsync (and promisify(writeLease)) resolve once written; bad arguments reject, never throw', async () => {
  const pool = createPool({ backend: 'none' });
  expect(promisify(writeLease)).toBe(writeLeaseAsync);
  const received: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (d) => received.push(d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  const lease = pool.acquire(5);
  lease.bytes.write('hello');
  const written = writeLeaseAsync(socket, lease);
  lease.release(); // the write holds its own reference
  await written;
  await expect(writeLeaseAsync(socket, lease)).rejects.toEqual(code('ERR_RIO_RELEASED'));
  await expect(writeLeaseAsync({} as net.Socket, lease)).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
  socket.end();
  await once(socket, 'close');
  await new Promise((r) => server.close(r));
  expect(Buffer.concat(received).toString()).toBe('hello');
  await pool.close();
});

test('console.log(pool) shows its backend, datapath, leases and whether it is closing', async () => {
  const pool = createPool({ backend: 'none' });
  const lease = pool.acquire(100);
  expect(inspect(pool, { breakLength: Infinity })).toMatch(
    /^Pool \{ backend: 'none', datapath: '[a-z]+', leased: 1, slabs: 1, mappedBytes: \d+, closing: false \}$/,
  );
  lease.release();
  await pool.close();
  expect(inspect(pool, { breakLength: Infinity })).toMatch(/closing: true/);
});

test('await using pool: closed at the end of the scope', async () => {
  let outer: Pool | undefined;
  {
    await using pool = createPool({ backend: 'none' });
    outer = pool;
    using lease = pool.acquire(10);
    lease.bytes[0] = 1;
  }
  expect(() => outer.acquire(1)).toThrow(code('ERR_RIO_POOL_CLOSED'));
});
