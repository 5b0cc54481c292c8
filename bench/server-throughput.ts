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
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  BASELINE,
  cpuMicros,
  fmt,
  haveRedisBenchmark,
  median,
  onCpu,
  paired,
  pin,
  serverKinds,
  startServer,
  type Kind,
  type Server,
} from './servers';
import { header } from './support';

const run = promisify(execFile);
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 9) || 1);
const PIPELINES = [16, 1];
/** Requests per command per load: about a second each. */
const REQUESTS: Record<number, number> = { 16: 400_000, 1: 50_000 };

interface Sample {
  rps: number;
  p50: number;
  p99: number;
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

async function main(): Promise<void> {
  header('loopback server throughput: the example Redis server (plain, net, uring, stream) and redis-server');
  if (!haveRedisBenchmark()) return;
  const kinds = serverKinds(['plain', 'net', 'uring', 'stream', 'redis']);
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
      // This server's CPU over the other's (as latency.ts): below 1 means cheaper.
      cells.push(`${median(c(kind)).toFixed(2)} (${median(user).toFixed(2)})`, paired(c(kind), c('plain')));
      if (withRedis) cells.push(paired(c(kind), c('redis')));
      console.log(`| ${kind} | ${cells.join(' | ')} |`);
    }
  }
  if (BASELINE !== undefined) console.log(`\nbase: the example of ${BASELINE}`);
  console.log('\n(redis-benchmark -t set,get -c 50 -d 256; "vs plain": the median of the per-round ratios, with the');
  console.log("middle half of the rounds' ratios in brackets; CPU ratios are this server's over the other's, below 1 is");
  console.log('cheaper; rounds alternate the servers)');
}

void main();
