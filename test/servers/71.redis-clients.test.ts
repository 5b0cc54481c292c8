/**
 * Real Redis clients against the example server (examples/redis-server.ts) with their DEFAULT
 * options, on each datapath: ioredis (ready check: INFO; HELLO 3; CLIENT SETINFO) and
 * @redis/client (HELLO 3, RESP3 replies; CLIENT SETINFO). Each connects once and never
 * reconnects; values go and come back byte for byte, binary ones included; keys expire.
 */
import { createClient, RESP_TYPES } from '@redis/client';
import Redis from 'ioredis';
import { startRedisServer } from '../../examples/redis-server';
import type { Pool } from '@riopool/pool';
import { checkInvariants } from '@riopool/pool/testing';
import { isLinux, sleep, waitFor } from '../support';

/** Leases outstanding but the receive ring's own buffers. */
const outstanding = (pool: Pool) => pool.stats().totals.leased - (pool.stats().io.ring?.lent ?? 0);
/** Every byte value, then some text: what a client must carry through unchanged. */
const binary = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));

const datapaths = isLinux ? (['uring', 'net'] as const) : (['net'] as const);

describe.each(datapaths)('real clients with their default options (%s datapath)', (datapath) => {
  let server: Awaited<ReturnType<typeof startRedisServer>>;
  beforeAll(async () => {
    server = await startRedisServer({ port: 0, datapath });
    expect(server.pool.stats().io.datapath).toBe(datapath);
  });
  afterAll(async () => {
    await server.close();
    expect(server.pool.stats().totals.slabs).toBe(0);
  });
  afterEach(async () => {
    await waitFor(() => server.server.connections === 0, 'the clients to go');
    expect(outstanding(server.pool)).toBe(0);
    checkInvariants(server.pool);
  });

  test('ioredis: ready check, SET/GET/DEL/MGET/MSET/INCR/EXPIRE byte-exact, pipelined, no reconnect', async () => {
    const io = new Redis(server.port, '127.0.0.1');
    let reconnects = 0;
    const errors: Error[] = [];
    io.on('reconnecting', () => reconnects++).on('error', (e: Error) => errors.push(e));
    await new Promise<void>((resolve, reject) => io.once('ready', resolve).once('end', () => reject(new Error('closed before ready'))));
    expect(server.pool.stats().io.datapath).toBe(datapath);

    const value = binary(3000);
    expect(await io.set('io:bin', value)).toBe('OK');
    expect((await io.getBuffer('io:bin'))!.equals(value)).toBe(true);
    expect(await io.set('io:text', 'héllo wörld')).toBe('OK');
    expect(await io.get('io:text')).toBe('héllo wörld');
    expect(await io.set('io:text', 'other', 'NX')).toBeNull();
    expect(await io.set('io:text', 'third', 'XX', 'GET')).toBe('héllo wörld');
    expect(await io.mset({ 'io:a': '1', 'io:b': '2' })).toBe('OK');
    expect(await io.mget('io:a', 'missing', 'io:b')).toEqual(['1', null, '2']);
    expect(await io.incr('io:a')).toBe(2);
    expect(await io.decr('io:b')).toBe(1);
    expect(await io.incrby('io:n', 10)).toBe(10);
    expect(await io.exists('io:a', 'io:b', 'missing')).toBe(2);
    expect(await io.expire('io:a', 100)).toBe(1);
    expect(await io.ttl('io:a')).toBe(100);
    expect(await io.ttl('io:b')).toBe(-1);
    expect(await io.set('io:soon', 'x', 'PX', 30)).toBe('OK');
    await sleep(60);
    expect(await io.get('io:soon')).toBeNull();
    expect(await io.del('io:a', 'io:b', 'missing')).toBe(2);
    await expect(io.select(1)).rejects.toThrow('DB index is out of range');

    const p = io.pipeline();
    for (let i = 0; i < 200; i++) p.set(`io:${i}`, binary(i));
    for (let i = 0; i < 200; i++) p.getBuffer(`io:${i}`);
    const results = (await p.exec())!;
    expect(results.every(([err]) => err === null)).toBe(true);
    expect(results.slice(200).every(([, v], i) => (v as Buffer).equals(binary(i)))).toBe(true);

    await io.quit();
    expect(reconnects).toBe(0);
    expect(errors).toEqual([]);
  });

  test('@redis/client: HELLO 3 (RESP3), SET/GET/DEL/MGET/MSET/INCR/EXPIRE byte-exact, concurrent, no reconnect', async () => {
    const nr = createClient({ socket: { port: server.port, host: '127.0.0.1' } });
    let reconnects = 0;
    const errors: Error[] = [];
    nr.on('reconnecting', () => reconnects++).on('error', (e: Error) => errors.push(e));
    await nr.connect();
    const bytes = nr.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });

    const value = binary(5000);
    expect(await nr.set('nr:bin', value)).toBe('OK');
    expect((await bytes.get('nr:bin'))!.equals(value)).toBe(true);
    expect(await nr.get('nr:missing')).toBeNull();
    expect(await nr.set('nr:text', 'héllo', { expiration: { type: 'EX', value: 100 } })).toBe('OK');
    expect(await nr.ttl('nr:text')).toBe(100);
    expect(await nr.set('nr:text', 'no', { condition: 'NX' })).toBeNull();
    expect(await nr.set('nr:text', 'yes', { GET: true })).toBe('héllo');
    expect(await nr.ttl('nr:text')).toBe(-1);
    expect(await nr.mSet({ 'nr:a': '1', 'nr:b': '2' })).toBe('OK');
    expect(await nr.mGet(['nr:a', 'nr:missing', 'nr:b'])).toEqual(['1', null, '2']);
    expect(await nr.incr('nr:a')).toBe(2);
    expect(await nr.decr('nr:b')).toBe(1);
    expect(await nr.incrBy('nr:n', 7)).toBe(7);
    expect(await nr.exists(['nr:a', 'nr:b', 'nr:missing'])).toBe(2);
    expect(await nr.expire('nr:a', 100)).toBe(1);
    expect(await nr.ttl('nr:a')).toBe(100);
    expect(await nr.pExpire('nr:b', 30)).toBe(1);
    await sleep(60);
    expect(await nr.exists('nr:b')).toBe(0);
    expect(await nr.del(['nr:a', 'nr:missing'])).toBe(1);
    await expect(nr.select(1)).rejects.toThrow('DB index is out of range');

    const sets = await Promise.all(Array.from({ length: 100 }, (_, i) => nr.set(`nr:${i}`, binary(1000 + i))));
    expect(sets.every((r) => r === 'OK')).toBe(true);
    const gets = await Promise.all(Array.from({ length: 100 }, (_, i) => bytes.get(`nr:${i}`)));
    expect(gets.every((g, i) => g!.equals(binary(1000 + i)))).toBe(true);
    expect(await nr.ping()).toBe('PONG');

    nr.destroy();
    expect(reconnects).toBe(0);
    expect(errors).toEqual([]);
  });
});
