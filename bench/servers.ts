/**
 * The servers the loopback scenarios (server-throughput.ts, latency.ts) put side by side, each in
 * a process of its own on the last CPU, and what they share: the pinning, the server's CPU time
 * from /proc, and paired statistics over rotated rounds.
 *
 *   plain   node:net, Node's own read buffers, Buffer.allocUnsafe replies (the baseline)
 *   net     node:net reading into and writing from pool leases
 *   uring   registered I/O: every receive and send an io_uring fixed-buffer operation (the example)
 *   stream  the same ring through toDuplex (node:stream)
 *   redis   Debian's C redis-server, the outside reference, if installed
 *   base    the example of BASELINE=<an older checkout, built>, to measure a change against the
 *           code before it in the same run
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export type Kind = 'plain' | 'net' | 'uring' | 'stream' | 'redis' | 'base';
export const BASELINE = process.env.BASELINE;

/** CPUs for the servers and the client, or none (one CPU, no taskset, or PIN=0). */
export const pin = ((): { server: string; client: string } | undefined => {
  const cpus = os.availableParallelism();
  if (process.env.PIN === '0' || cpus < 2 || spawnSync('taskset', ['-V']).status !== 0) return undefined;
  return { server: String(cpus - 1), client: '0' };
})();

/** `command args` as argv, run on `cpu` when pinning. */
export const onCpu = (cpu: string | undefined, command: string, args: string[]): [string, string[]] =>
  cpu === undefined ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];

/** Clock ticks per second, the unit of /proc/<pid>/stat's times. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** CPU time of a process so far, user and system, in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // utime and stime are fields 14 and 15 of stat(5); after "pid (comm) " (comm may hold ") ")
  // they are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / CLK_TCK, system: (Number(fields[12]) * 1e6) / CLK_TCK };
}

/** A TCP port nobody listens on now (for redis-server, which cannot be told to pick one). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.once('error', reject);
  });
}

export interface Server {
  kind: Kind;
  port: number;
  child: ChildProcess;
}

/** Starts one server process and resolves once it answers (the example prints its port). */
export async function startServer(kind: Kind): Promise<Server> {
  if (kind === 'redis') {
    const port = await freePort();
    const child = spawn(...onCpu(pin?.server, 'redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no']), {
      stdio: 'ignore',
    });
    child.once('error', () => {}); // a missing binary shows as no PONG below
    for (let i = 0; i < 100; i++) {
      if (
        spawnSync('redis-cli', ['-p', String(port), 'PING'])
          .stdout?.toString()
          .includes('PONG')
      )
        return { kind, port, child };
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill();
    throw new Error('redis-server did not answer');
  }
  // The example itself runs uring; the other ways to move the bytes are in redis-servers.ts.
  const example =
    kind === 'base' ? path.join(BASELINE!, 'examples/dist/redis-server.js') : require.resolve('@riopool/examples/redis-server');
  const args = kind === 'uring' || kind === 'base' ? [example, '0'] : [path.join(__dirname, 'redis-servers.js'), '0', kind];
  const child = spawn(...onCpu(pin?.server, process.execPath, args), { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`the ${kind} server exited (${code}) before listening`)));
    child.once('error', reject);
    setTimeout(() => reject(new Error(`the ${kind} server did not start in 30 s`)), 30_000).unref();
  }).catch((e: Error) => {
    child.kill();
    throw e;
  });
  // "riopool redis example on 127.0.0.1:PORT (io MODE..."
  const m = /127\.0\.0\.1:(\d+) \(io (\w+)/.exec(line);
  if (m === null || m[2] !== (kind === 'base' ? 'uring' : kind)) {
    child.kill();
    throw new Error(`asked for ${kind}, the example says: ${line}`);
  }
  return { kind, port: Number(m[1]), child };
}

/** The value at fraction f (0..1) of the sorted values, interpolated between neighbours. */
export function quantile(xs: number[], f: number): number {
  const v = [...xs].sort((a, b) => a - b);
  const at = (v.length - 1) * f;
  const lo = Math.floor(at);
  return v[lo]! + (v[Math.min(lo + 1, v.length - 1)]! - v[lo]!) * (at - lo);
}
export const median = (xs: number[]) => quantile(xs, 0.5);

/**
 * Round by round ratios a[i] / b[i] (loads of the same round, seconds apart): their median, and
 * in brackets the middle half of them (the first to the third quartile).
 */
export function paired(a: number[], b: number[]): string {
  const r = a.map((x, i) => x / b[i]!);
  const q = (f: number) => quantile(r, f).toFixed(2);
  return `${q(0.5)}× (${q(0.25)}–${q(0.75)})`;
}
export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Every server this machine can run, for the scenario's SERVERS=a,b list (plain always runs). */
export function serverKinds(all: Kind[]): Kind[] {
  const only = process.env.SERVERS?.split(',');
  const kinds = all.filter((k) => k !== 'redis' && k !== 'base' && (k === 'plain' || only === undefined || only.includes(k)));
  if (all.includes('redis')) {
    if (spawnSync('redis-server', ['--version']).status !== 0)
      console.log('(redis-server is not installed: no outside reference; apt-get install redis-server)');
    else if (only === undefined || only.includes('redis')) kinds.push('redis');
  }
  if (BASELINE !== undefined) kinds.push('base');
  if (pin !== undefined) console.log(`servers on CPU ${pin.server}, redis-benchmark on CPU ${pin.client} (taskset)`);
  else console.log('not pinned: one CPU, no taskset, or PIN=0');
  return kinds;
}

/** Whether redis-benchmark (Debian: redis-tools) can drive the servers; says why not. */
export function haveRedisBenchmark(): boolean {
  if (spawnSync('redis-benchmark', ['--version']).status === 0) return true;
  console.log('skipped: redis-benchmark is not installed (apt-get install redis-tools)');
  return false;
}
