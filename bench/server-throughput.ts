/**
 * Scenario 5: loopback server throughput. The example Redis-protocol server four ways, and
 * Debian's C redis-server as the outside reference, each loaded by redis-benchmark (SET and GET,
 * 256-byte values, 50 connections) at pipelines of 16 and of 1, alternated in one run:
 *
 *   plain   node:net, Node's own read buffers, Buffer.allocUnsafe replies (the baseline)
 *   net     node:net reading into and writing from pool leases
 *   uring   registered I/O: every receive and send an io_uring fixed-buffer operation
 *   stream  the same ring through toDuplex (node:stream): a copy each way, Buffers in and out
 *   redis   redis-server (C), if installed
 *
 * Every server is its own process (this Node for the example, `node examples/dist/redis-server.js 0`,
 * and `node bench/dist/redis-servers.js 0 <mode>` for the others), started once and warmed up, so a load meets a server whose JIT is warm; then ROUNDS
 * rounds (default 9) each load every server once per pipeline, back to back, in an order that rotates. The
 * machine's speed drifts over minutes (a shared host): many short alternated loads spread that
 * drift over every server instead of favouring the one that ran in a fast stretch.
 *
 * Reported: the median over rounds of requests/s and of redis-benchmark's p50 and p99 latency,
 * and the server's CPU time per request (user + system from /proc/<pid>/stat, with user alone in
 * brackets; SET and GET together: what the datapath changes, whatever the client can do). Ratios
 * to plain are paired: each round's load over plain's load of the same round and pipeline
 * (seconds apart), then the median and the middle half of those ratios.
 *
 * With two or more CPUs the servers run on the last one and redis-benchmark on the first
 * (taskset, util-linux; PIN=0 turns it off): unpinned, the scheduler sometimes puts both on one
 * CPU and single runs swing by 2x. Needs redis-benchmark (redis-tools) and Linux's /proc;
 * redis-server (Debian: redis-server) is optional.
 */
import { spawn, execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { header } from './support';

const run = promisify(execFile);
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 9) || 1);
const PIPELINES = [16, 1];
/** Requests per command per load: about a second each. */
const REQUESTS: Record<number, number> = { 16: 400_000, 1: 50_000 };
type Kind = 'plain' | 'net' | 'uring' | 'stream' | 'redis' | 'base';
/**
 * BASELINE=<an older checkout, built>: its example (uring) runs beside this one as `base`, so a
 * change to the datapath is measured against the code before it in the same run.
 */
const BASELINE = process.env.BASELINE;

interface Sample {
  rps: number;
  p50: number;
  p99: number;
}

/** CPUs for the servers and the client, or none (one CPU, no taskset, or PIN=0). */
const pin = ((): { server: string; client: string } | undefined => {
  const cpus = os.availableParallelism();
  if (process.env.PIN === '0' || cpus < 2 || spawnSync('taskset', ['-V']).status !== 0) return undefined;
  return { server: String(cpus - 1), client: '0' };
})();

/** `command args` as argv, run on `cpu` when pinning. */
const onCpu = (cpu: string | undefined, command: string, args: string[]): [string, string[]] =>
  cpu === undefined ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];

/** Clock ticks per second, the unit of /proc/<pid>/stat's times. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** CPU time of a process so far, user and system, in microseconds, from /proc/<pid>/stat. */
function cpuMicros(pid: number): { user: number; system: number } {
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

interface Server {
  kind: Kind;
  port: number;
  child: ChildProcess;
}

/** Starts one server process and resolves once it answers (the example prints its port). */
async function startServer(kind: Kind): Promise<Server> {
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

/** CPU time per request, in microseconds: user + system, and user alone. */
type Cpu = { total: number; user: number };

/** One load: each command's sample, and the server's CPU per request during it. */
async function load(server: Server, pipeline: number, requests: number): Promise<{ samples: Record<string, Sample>; cpu: Cpu }> {
  const args = [
    '-p',
    String(server.port),
    '-t',
    'set,get',
    '-n',
    String(requests),
    '-c',
    '50',
    '-P',
    String(pipeline),
    '-d',
    '256',
    '--csv',
  ];
  const before = cpuMicros(server.child.pid!);
  const { stdout } = await run(...onCpu(pin?.client, 'redis-benchmark', args), { timeout: 300_000 });
  const after = cpuMicros(server.child.pid!);
  const user = (after.user - before.user) / (2 * requests);
  const cpu = { total: user + (after.system - before.system) / (2 * requests), user };
  const out: Record<string, Sample> = {};
  const lines = stdout.trim().split('\n');
  const head = lines[0]!.split(',').map((c) => c.replace(/"/g, ''));
  for (const line of lines.slice(1)) {
    const cells = line.split(',').map((c) => c.replace(/"/g, ''));
    const col = (name: string) => Number(cells[head.indexOf(name)]);
    out[cells[0]!] = { rps: col('rps'), p50: col('p50_latency_ms'), p99: col('p99_latency_ms') };
  }
  return { samples: out, cpu };
}

/** The value at fraction f (0..1) of the sorted values, interpolated between neighbours. */
function quantile(xs: number[], f: number): number {
  const v = [...xs].sort((a, b) => a - b);
  const at = (v.length - 1) * f;
  const lo = Math.floor(at);
  return v[lo]! + (v[Math.min(lo + 1, v.length - 1)]! - v[lo]!) * (at - lo);
}
const median = (xs: number[]) => quantile(xs, 0.5);

/**
 * Round by round ratios a[i] / b[i] (loads of the same round, seconds apart): their median, and
 * in brackets the middle half of them (the first to the third quartile).
 */
function paired(a: number[], b: number[]): string {
  const r = a.map((x, i) => x / b[i]!);
  const q = (f: number) => quantile(r, f).toFixed(2);
  return `${q(0.5)}× (${q(0.25)}–${q(0.75)})`;
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  header('loopback server throughput: the example Redis server (plain, net, uring, stream) and redis-server');
  if (spawnSync('redis-benchmark', ['--version']).status !== 0) {
    console.log('skipped: redis-benchmark is not installed (apt-get install redis-tools)');
    return;
  }
  // SERVERS=plain,uring,redis runs only those (plain, the baseline, always runs).
  const only = process.env.SERVERS?.split(',');
  const kinds = (['plain', 'net', 'uring', 'stream'] as Kind[]).filter((k) => k === 'plain' || only === undefined || only.includes(k));
  if (spawnSync('redis-server', ['--version']).status !== 0)
    console.log('(redis-server is not installed: no outside reference; apt-get install redis-server)');
  else if (only === undefined || only.includes('redis')) kinds.push('redis');
  if (BASELINE !== undefined) kinds.push('base');
  if (pin !== undefined) console.log(`servers on CPU ${pin.server}, redis-benchmark on CPU ${pin.client} (taskset)`);
  else console.log('not pinned: one CPU, no taskset, or PIN=0');
  const samples = new Map<string, Sample[]>();
  const cpu = new Map<string, Cpu[]>();
  const servers: Server[] = [];
  try {
    for (const kind of kinds) servers.push(await startServer(kind));
    // Warm-up: every server's JIT (and redis-server's allocator) before anything is counted.
    for (const server of servers) for (const pipeline of PIPELINES) await load(server, pipeline, REQUESTS[pipeline]! / 2);
    for (let round = 0; round < ROUNDS; round++) {
      for (const pipeline of PIPELINES) {
        // One pipeline's loads back to back (seconds apart, so a drift of the host's speed hits
        // them alike), in an order that rotates each round.
        const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
        for (const server of order) {
          const r = await load(server, pipeline, REQUESTS[pipeline]!);
          if (process.env.VERBOSE === '1') {
            const cells = Object.entries(r.samples).map(([cmd, x]) => `${cmd} ${fmt(x.rps)}`);
            console.log(`round ${round} ${server.kind} -P ${pipeline}: ${cells.join(', ')}, ${r.cpu.total.toFixed(2)} µs/req`);
          }
          const key = `${server.kind} P${pipeline}`;
          cpu.set(key, [...(cpu.get(key) ?? []), r.cpu]);
          for (const [cmd, sample] of Object.entries(r.samples)) {
            const k = `${server.kind} ${cmd} P${pipeline}`;
            samples.set(k, [...(samples.get(k) ?? []), sample]);
          }
        }
      }
    }
  } finally {
    for (const server of servers) server.child.kill();
  }
  for (const pipeline of PIPELINES) {
    console.log(
      `\n### -P ${pipeline} (50 connections, ${fmt(REQUESTS[pipeline]!)} requests per command per load, medians of ${ROUNDS} rounds)\n`,
    );
    const withRedis = kinds.includes('redis');
    const vsRedis = withRedis ? ' vs redis |' : '';
    console.log(
      `| server | SET req/s | vs plain |${vsRedis} SET p50 / p99 ms | GET req/s | vs plain |${vsRedis} GET p50 / p99 ms | server CPU µs/req (user) | CPU vs plain |${withRedis ? ' CPU vs redis |' : ''}`,
    );
    console.log(
      `|---|---:|---:|${withRedis ? '---:|' : ''}---:|---:|---:|${withRedis ? '---:|' : ''}---:|---:|---:|${withRedis ? '---:|' : ''}`,
    );
    for (const kind of kinds) {
      const cells: string[] = [];
      for (const cmd of ['SET', 'GET']) {
        const s = samples.get(`${kind} ${cmd} P${pipeline}`) ?? [];
        const rps = (k: Kind) => (samples.get(`${k} ${cmd} P${pipeline}`) ?? []).map((x) => x.rps);
        cells.push(fmt(median(rps(kind))), paired(rps(kind), rps('plain')));
        if (withRedis) cells.push(paired(rps(kind), rps('redis')));
        cells.push(`${median(s.map((x) => x.p50)).toFixed(3)} / ${median(s.map((x) => x.p99)).toFixed(3)}`);
      }
      const c = (k: Kind) => (cpu.get(`${k} P${pipeline}`) ?? []).map((x) => x.total);
      const user = (cpu.get(`${kind} P${pipeline}`) ?? []).map((x) => x.user);
      // Less CPU per request is better: the other's over this server's, so > 1 means cheaper.
      cells.push(`${median(c(kind)).toFixed(2)} (${median(user).toFixed(2)})`, paired(c('plain'), c(kind)));
      if (withRedis) cells.push(paired(c('redis'), c(kind)));
      console.log(`| ${kind} | ${cells.join(' | ')} |`);
    }
  }
  if (BASELINE !== undefined) console.log(`\nbase: the example of ${BASELINE}`);
  console.log('\n(redis-benchmark -t set,get -c 50 -d 256; "vs plain": the median of the per-round ratios, with the');
  console.log("middle half of the rounds' ratios in brackets; rounds alternate the servers)");
}

void main();
