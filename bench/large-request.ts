/**
 * Scenario 7: one large request. A SET of a 10 MiB value and its GET, timed from a node:net
 * client, against the example (uring), the same Session on plain node:net (plain) and
 * redis-server (the C reference, if installed), each its own process. A request larger than
 * one receive waits in a ReceiveBuffer: copied once, not once per receive (before it was the
 * whole pending request again on every read: a 10 MiB SET took 16.7 s). Medians of ROUNDS,
 * after WARMUP rounds that are not counted.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { header } from './support';
import { startServerProcess } from './processes';

const VALUE = 10 * 1024 * 1024;
const ROUNDS = Number(process.env.ROUNDS ?? 21);
/** Rounds run first and not counted, for every server alike (the JIT's first compiles, first slabs). */
const WARMUP = 2;

/** Sends `request` and resolves once `expect` bytes of reply have come back; the time in ms. */
function timed(socket: net.Socket, request: Buffer, expect: number): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const t0 = process.hrtime.bigint();
    const onData = (d: Buffer) => {
      got += d.length;
      if (got < expect) return;
      socket.off('data', onData);
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    };
    socket.on('data', onData);
    socket.write(request);
  });
}

async function measure(port: number): Promise<{ set: number; get: number }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const value = Buffer.alloc(VALUE, 0x61);
  const set = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${VALUE}\r\n`), value, Buffer.from('\r\n')]);
  const get = Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n');
  const sets: number[] = [];
  const gets: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const s = await timed(socket, set, '+OK\r\n'.length);
    const g = await timed(socket, get, `$${VALUE}\r\n`.length + VALUE + 2);
    if (i < WARMUP) continue;
    sets.push(s);
    gets.push(g);
  }
  socket.destroy();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { set: median(sets), get: median(gets) };
}

async function redis(): Promise<{ port: number; stop: () => void } | undefined> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (
      spawnSync('redis-cli', ['-p', String(port), 'PING'])
        .stdout?.toString()
        .includes('PONG')
    )
      return { port, stop: () => child.kill() };
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill();
  return undefined;
}

async function main(): Promise<void> {
  header(`one large request: SET and GET of a ${VALUE / 1024 / 1024} MiB value, medians of ${ROUNDS} after ${WARMUP} not counted`);
  const rows: [string, { set: number; get: number }][] = [];
  for (const kind of ['uring', 'plain'] as const) {
    const server = await startServerProcess(kind);
    rows.push([kind, await measure(server.port)]);
    await server.stop();
  }
  const reference = await redis();
  if (reference !== undefined) {
    rows.push(['redis-server', await measure(reference.port)]);
    reference.stop();
  } else console.log('(redis-server is not installed: no reference)');
  const base = rows.find(([k]) => k === 'redis-server')?.[1];
  console.log('\n| server | SET ms | GET ms | SET vs redis-server | GET vs redis-server |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [kind, r] of rows) {
    const vs = (a: number, b: number | undefined) => (b === undefined ? '–' : `${(a / b).toFixed(2)}×`);
    console.log(`| ${kind} | ${r.set.toFixed(1)} | ${r.get.toFixed(1)} | ${vs(r.set, base?.set)} | ${vs(r.get, base?.get)} |`);
  }
  console.log("\n(times: lower is better; the ratios are time over redis-server's)");
}

void main();
