/**
 * Scenario 6: what an idle connection costs a server. The example Redis server on registered
 * I/O (uring: receives from the pool's shared receive ring) beside the same Session over plain
 * node:net (plain), each its own process: CONNECTIONS idle clients (from another process) are
 * opened, and the server's VmPin and VmRSS are read before and after, from /proc. Reported: the
 * bytes per connection, what 100,000 and 1,000,000 connections would cost at that rate, and that
 * the server still answers (a PING on a fresh connection).
 *
 *   CONNECTIONS=4000 node bench/dist/run-all.js idle-connections
 */
import * as net from 'node:net';
import { header } from './support';
import { processMemory, startIdleClients, startServerProcess, type ServerKind } from './processes';

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 4000);

/** A connection that sends PING when asked; resolves with the reply. */
async function pinger(port: number): Promise<{ ping(): Promise<string>; close(): void }> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
  const ping = () =>
    new Promise<string>((resolve) => {
      s.once('data', (d) => resolve(d.toString().trim()));
      s.write('PING\r\n');
    });
  return { ping, close: () => s.destroy() };
}

const settle = () => new Promise((r) => setTimeout(r, 2500)); // two decay ticks: what the first PING left is gone

async function measure(kind: ServerKind): Promise<{ pin: number; rss: number; answered: string }> {
  const server = await startServerProcess(kind);
  try {
    // One connection throughout: the datapath is up (the receive ring lending) for the baseline too.
    const keeper = await pinger(server.port);
    await keeper.ping();
    await settle();
    const before = processMemory(server.child.pid!);
    const clients = await startIdleClients(server.port, CONNECTIONS);
    await settle();
    const during = processMemory(server.child.pid!);
    const answered = await keeper.ping();
    keeper.close();
    await clients.stop();
    return { pin: (during.pinned - before.pinned) / CONNECTIONS, rss: (during.rss - before.rss) / CONNECTIONS, answered };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  header(`idle connections: ${CONNECTIONS.toLocaleString('en-US')} idle clients, the server's VmPin and VmRSS per connection`);
  const KiB = (n: number) => `${(n / 1024).toFixed(2)} KiB`;
  const at = (perConnection: number, n: number) => `${((perConnection * n) / 2 ** 20).toFixed(1)} MiB`;
  console.log('\n| server | VmPin / connection | VmRSS / connection | answers PING | VmPin at 100k / 1M | VmRSS at 100k / 1M |');
  console.log('|---|---:|---:|---|---:|---:|');
  for (const kind of ['uring', 'plain'] as const) {
    const r = await measure(kind);
    console.log(
      `| ${kind} | ${KiB(r.pin)} | ${KiB(r.rss)} | ${r.answered} | ${at(r.pin, 1e5)} / ${at(r.pin, 1e6)} | ${at(r.rss, 1e5)} / ${at(r.rss, 1e6)} |`,
    );
  }
  console.log('\n(uring: the example, receives from the shared ring; plain: the same Session on node:net, libuv read buffers)');
}

void main();
