/**
 * Scenario 7: pinned memory after a burst. The example Redis server on registered I/O (its own
 * process) settles, then takes a burst: one 10 MiB SET, its GET and DEL, then 1,000
 * connections (from another process) that close. Its VmPin is read every 250 ms from /proc, no
 * trim() asked: reported are the baseline, the peak (sampled every 5 ms), and how long until VmPin is back within
 * 2 MiB of the baseline (the decay ticks every second; a slab empty for a whole tick goes).
 *
 *   node bench/dist/run-all.js burst
 */
import * as net from 'node:net';
import { header } from './support';
import { processMemory, startIdleClients, startServerProcess } from './processes';

const MiB = 1024 * 1024;
const VALUE = 10 * MiB;

/** Sends one RESP request and resolves with the whole reply (a bulk reply is read to its end). */
function request(socket: net.Socket, ...args: string[]): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      const head = Buffer.concat(chunks.slice(0, 1)).toString('latin1', 0, 32);
      const m = /^\$(\d+)\r\n/.exec(head);
      const want = m ? m[0].length + Number(m[1]) + 2 : 0;
      if ((m && got >= want) || (!m && head.includes('\r\n'))) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  header('burst: VmPin of the example server after a 10 MiB value and 1,000 connections, no trim()');
  const server = await startServerProcess('uring');
  try {
    const pinned = () => processMemory(server.child.pid!).pinned;
    const s = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => s.once('connect', resolve));
    await request(s, 'PING');
    s.destroy();
    await sleep(2500); // two decay ticks: the quiet baseline
    const baseline = pinned();
    // The peak, sampled every 5 ms through the burst (the 10 MiB slab goes as soon as it empties).
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, pinned())), 5);
    const big = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => big.once('connect', resolve));
    const t0 = Date.now();
    await request(big, 'SET', 'big', 'x'.repeat(VALUE));
    const setMs = Date.now() - t0;
    const got = await request(big, 'GET', 'big');
    await request(big, 'DEL', 'big');
    big.destroy();
    const clients = await startIdleClients(server.port, 1000);
    await clients.stop();
    clearInterval(sampler);
    const t1 = Date.now();
    let back = Number.POSITIVE_INFINITY;
    let home = Number.POSITIVE_INFINITY;
    const samples: string[] = [];
    while (Date.now() - t1 < 10_000) {
      const now = pinned();
      const at = Date.now() - t1;
      if (samples.length === 0 || samples[samples.length - 1]!.split(': ')[1] !== (now / MiB).toFixed(2))
        samples.push(`${(at / 1000).toFixed(2)} s: ${(now / MiB).toFixed(2)}`);
      if (now <= baseline + 2 * MiB && !Number.isFinite(back)) back = at;
      if (now <= baseline + 64 * 1024) {
        home = at;
        break;
      }
      await sleep(50);
    }
    const mb = (n: number) => `${(n / MiB).toFixed(2)} MiB`;
    const secs = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'not in 10 s');
    console.log('\n| VmPin before | peak | within 2 MiB of before after | within 64 KiB after | SET of 10 MiB | GET reply bytes |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    console.log(`| ${mb(baseline)} | ${mb(peak)} | ${secs(back)} | ${secs(home)} | ${setMs} ms | ${got.length.toLocaleString('en-US')} |`);
    console.log(`\n(VmPin in MiB after the last client closed, at each change: ${samples.join(', ')})`);
  } finally {
    await server.stop();
  }
}

void main();
