/**
 * The example Redis-protocol server (examples/redis-server.ts) over loopback: many concurrent
 * clients, pipelined requests split at random points, every reply checked; then every lease
 * must be back once the clients have gone. Standard Redis tools are used when installed.
 */
import * as net from 'node:net';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedisServer } from '../../examples/redis-server';
import { startBenchServer } from '../../bench/redis-servers';
import { ReplyReader, command, type Reply } from './resp';
import { checkInvariants } from '@riopool/pool/testing';
import type { Pool } from '@riopool/pool';
import { createClient } from '@redis/client';
import Redis from 'ioredis';
import fc from 'fast-check';
import { propertyParams, waitFor } from '../support';

/** Bulk replies as strings: jest's deep equality walks Buffers byte by byte, far too slowly. */
const norm = (r: Reply): unknown => (Buffer.isBuffer(r) ? `bulk:${r.toString('latin1')}` : Array.isArray(r) ? r.map(norm) : r);

/** Leases outstanding but the receive ring's own buffers. */
const outstanding = (pool: Pool) => pool.stats().totals.leased - (pool.stats().io.ring?.lent ?? 0);

/** The example (uring), or its Session over another way to move the bytes (bench/redis-servers.ts). */
async function start(io: 'uring' | 'stream' | 'net') {
  if (io !== 'uring') {
    const s = await startBenchServer(io);
    return { port: s.port, pool: s.pool!, close: s.close, connections: () => s.connections };
  }
  const s = await startRedisServer({ port: 0 });
  expect(s.pool.stats().io.datapath).toBe('uring');
  return { port: s.port, pool: s.pool, close: s.close, connections: () => s.server.connections };
}

describe.each(['uring', 'stream', 'net'] as const)('io %s', (io) => {
  let server: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    server = await start(io);
  });
  afterAll(async () => {
    await server.close();
    expect(server.pool.stats().totals.slabs).toBe(0);
  });

  /** Sends `payload` in random fragments; resolves with `count` replies. */
  function exchange(payload: Buffer, count: number, seed: number): Promise<Reply[]> {
    return new Promise((resolve, reject) => {
      const reader = new ReplyReader();
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', reject);
      socket.on('data', (d) => {
        reader.push(d);
        if (reader.replies.length >= count) {
          socket.end();
          resolve(reader.replies);
        }
      });
      socket.on('connect', async () => {
        let at = 0;
        let x = seed;
        while (at < payload.length) {
          x = (x * 1103515245 + 12345) & 0x7fffffff;
          const n = 1 + (x % 700);
          socket.write(payload.subarray(at, at + n));
          at += n;
          if (x % 5 === 0) await new Promise((r) => setImmediate(r));
        }
      });
    });
  }

  test('64 concurrent clients, 300 pipelined commands each: every reply is right', async () => {
    const clients = 64;
    const perClient = 300;
    const runs = Array.from({ length: clients }, (_, c) => {
      const parts: Buffer[] = [];
      const expected: Reply[] = [];
      for (let i = 0; i < perClient / 6; i++) {
        const key = `k:${c}:${i}`;
        const value = Buffer.alloc(1 + ((c * 131 + i * 17) % 3000), `${c}-${i}|`);
        parts.push(command('SET', key, value), command('GET', key), command('ECHO', `e${i}`));
        parts.push(command('PING'), command('DEL', key, 'missing'), command('GET', key));
        expected.push('OK', value, Buffer.from(`e${i}`), 'PONG', 1, null);
      }
      return exchange(Buffer.concat(parts), expected.length, c + 1).then((replies) =>
        expect(replies.map(norm)).toEqual(expected.map(norm)),
      );
    });
    await Promise.all(runs);
    await waitFor(() => server.connections() === 0, 'the server to see every client go');
    expect(outstanding(server.pool)).toBe(0);
    checkInvariants(server.pool);
  });

  test('client libraries: ioredis and @redis/client, pipelined, as applications use them', async () => {
    // Default options: ioredis's ready check (INFO), HELLO 3 and CLIENT SETINFO.
    const io = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
    await io.connect();
    const p = io.pipeline();
    for (let i = 0; i < 200; i++) p.set(`io:${i}`, `value ${i}`);
    for (let i = 0; i < 200; i++) p.get(`io:${i}`);
    const results = await p.exec();
    expect(results!.slice(0, 200).every(([err, v]) => err === null && v === 'OK')).toBe(true);
    expect(results!.slice(200).map(([, v]) => v)).toEqual(Array.from({ length: 200 }, (_, i) => `value ${i}`));
    expect(await io.del('io:1', 'io:2', 'missing')).toBe(2);
    io.disconnect();
    // node-redis pipelines concurrent commands on one connection; RESP3 by default (HELLO 3).
    const nr = createClient({ socket: { port: server.port, host: '127.0.0.1' } });
    await nr.connect();
    const sets = await Promise.all(Array.from({ length: 100 }, (_, i) => nr.set(`nr:${i}`, Buffer.alloc(1000 + i, i))));
    expect(sets.every((r) => r === 'OK')).toBe(true);
    const gets = await Promise.all(Array.from({ length: 100 }, (_, i) => nr.get(`nr:${i}`)));
    expect(gets.map((g) => g?.length)).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i));
    expect(await nr.ping()).toBe('PONG');
    await nr.quit();
    await waitFor(() => server.connections() === 0, 'the clients to go');
    expect(outstanding(server.pool)).toBe(0);
  });

  test('5,000 keys, long and binary ones, commands in any case: each key keeps its own value', async () => {
    const keys = Array.from({ length: 5000 }, (_, i) =>
      i % 97 === 0
        ? Buffer.from(`long:${i}:`.padEnd(70 + (i % 7), 'x'))
        : i % 89 === 0
          ? Buffer.from([0xff, 0x80, i & 0xff, i >> 8])
          : Buffer.from(`k${i}`),
    );
    const sets = keys.map((k, i) => command(i % 2 ? 'set' : 'SET', k, `v${i}`));
    const gets = keys.map((_, i) => keys[(i * 7919) % keys.length]!).map((k, i) => command(i % 3 ? 'GET' : 'get', k));
    const replies = await exchange(Buffer.concat([...sets, ...gets]), 2 * keys.length, 11);
    expect(replies.slice(0, keys.length).every((r) => r === 'OK')).toBe(true);
    const expected = keys.map((_, i) => `bulk:v${(i * 7919) % keys.length}`);
    expect(replies.slice(keys.length).map(norm)).toEqual(expected);
    await waitFor(() => server.connections() === 0, 'the client to go');
    expect(outstanding(server.pool)).toBe(0);
  });

  test('a value replaced by one as long (written over in place): each GET has the value of its moment', async () => {
    // The GET before each SET is in the same receive as the SET (when the splits allow): its reply
    // must already hold a copy, not the bytes the SET then writes over.
    const values = ['aaaa', 'bbbb', 'cc', 'dd', 'x'.repeat(300), 'y'.repeat(300), 'dd'];
    const payload = Buffer.concat(values.flatMap((v) => [command('SET', 'same', v), command('GET', 'same'), command('GET', 'same')]));
    const replies = await exchange(payload, 3 * values.length, 13);
    expect(replies.map(norm)).toEqual(values.flatMap((v) => ['OK', `bulk:${v}`, `bulk:${v}`]));
    await waitFor(() => server.connections() === 0, 'the client to go');
    expect(outstanding(server.pool)).toBe(0);
  });

  test('SET, GET and DEL in any order, values of a few lengths: every reply agrees with a Map', async () => {
    // Values of a few lengths, so that many a SET replaces a value as long (written over in
    // place) and many do not; each run its own keys, so each starts from none.
    const op = fc.record({
      kind: fc.constantFrom('SET', 'GET', 'DEL'),
      key: fc.nat(3),
      value: fc.tuple(fc.constantFrom(0, 1, 2, 9, 10, 99, 100, 300), fc.nat(25)).map(([n, c]) => String.fromCharCode(97 + c).repeat(n)),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), fc.nat(), async (ops, seed) => {
        const prefix = `p${run++}:`;
        const keyOf = (k: number) => `${prefix}${k}`;
        const model = new Map<string, string>();
        const expected: unknown[] = [];
        for (const o of ops) {
          const key = keyOf(o.key);
          if (o.kind === 'SET') {
            model.set(key, o.value);
            expected.push('OK');
          } else if (o.kind === 'GET') expected.push(model.has(key) ? `bulk:${model.get(key)}` : null);
          else expected.push(model.delete(key) ? 1 : 0);
        }
        const payload = Buffer.concat(
          ops.map((o) => (o.kind === 'SET' ? command('SET', keyOf(o.key), o.value) : command(o.kind, keyOf(o.key)))),
        );
        const replies = await exchange(payload, ops.length, seed);
        expect(replies.map(norm)).toEqual(expected);
      }),
      propertyParams(`example SET/GET/DEL against a Map (${io})`, 25),
    );
    await waitFor(() => server.connections() === 0, 'the clients to go');
    expect(outstanding(server.pool)).toBe(0);
  });

  test('inline commands, errors and the admin command', async () => {
    const payload = Buffer.concat([Buffer.from('PING\r\nECHO hi\r\n'), command('NOSUCH'), command('GET'), command('RIOPOOL', 'FOOTPRINT')]);
    const replies = await exchange(payload, 5, 7);
    expect(replies.slice(0, 4)).toEqual([
      'PONG',
      Buffer.from('hi'),
      { error: "ERR unknown command 'NOSUCH', with args beginning with: " },
      { error: "ERR wrong number of arguments for 'get' command" },
    ]);
    const footprint = JSON.parse((replies[4] as Buffer).toString());
    expect(footprint).toMatchObject({ version: 1, model: { registrations: expect.any(Number) } });
    await waitFor(() => server.connections() === 0, 'the client to go');
    expect(outstanding(server.pool)).toBe(0);
  });

  // The server runs in this process: the tools must run asynchronously, never with *Sync.
  const run = promisify(execFile);
  const hasRedisTools = spawnSync('redis-benchmark', ['--version']).status === 0;
  (hasRedisTools ? describe : describe.skip)('standard Redis tools', () => {
    test('redis-cli: PING, SET, GET, DEL, ECHO', async () => {
      const cli = async (...args: string[]) => (await run('redis-cli', ['-p', String(server.port), ...args])).stdout.trim();
      expect(await cli('PING')).toBe('PONG');
      expect(await cli('SET', 'greeting', 'hello world')).toBe('OK');
      expect(await cli('GET', 'greeting')).toBe('hello world');
      expect(await cli('ECHO', 'riopool')).toBe('riopool');
      expect(await cli('DEL', 'greeting')).toBe('1');
      expect(await cli('GET', 'greeting')).toBe('');
    });

    test('redis-benchmark: PING, SET and GET, pipelined, 20 clients; no errors; leases return', async () => {
      const r = await run(
        'redis-benchmark',
        ['-p', String(server.port), '-t', 'ping,set,get', '-n', '20000', '-c', '20', '-P', '16', '-q'],
        {
          timeout: 60000,
        },
      );
      expect(r.stdout).toMatch(/SET: [\d.]+ requests per second/);
      expect(r.stdout).toMatch(/GET: [\d.]+ requests per second/);
      expect(r.stdout + r.stderr).not.toMatch(/ERR|error/i);
      await waitFor(() => server.connections() === 0, 'redis-benchmark to disconnect');
      expect(outstanding(server.pool)).toBe(0);
    });
  });
});
