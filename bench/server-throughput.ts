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
 * Reported: the median over ROUNDS (default 3) of requests/s and of redis-benchmark's p50 and
 * p99 latency, each server's throughput over plain's, and the server's CPU time per request (user
 * + system, SET and GET together): what the datapath changes, whatever the client can do.
 *
 * With two or more CPUs the server runs on the last one and redis-benchmark on the first
 * (taskset, util-linux; PIN=0 turns it off): unpinned, the scheduler sometimes puts both on one
 * CPU and single runs swing by 2x. Needs redis-benchmark (redis-tools); redis-server (Debian:
 * redis-server) is optional.
 */
import { spawn, execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { promisify } from 'node:util';
import { startRedisServer } from '@riopool/examples/redis-server';
import { header } from './support';

const run = promisify(execFile);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const PIPELINES = [16, 1];
// Enough requests per run that each server runs warm (JIT) for most of it.
const REQUESTS: Record<number, number> = { 16: 1_000_000, 1: 100_000 };
type Kind = 'plain' | 'net' | 'uring' | 'stream' | 'redis';

interface Sample {
  rps: number;
  p50: number;
  p99: number;
}

/** CPUs for the server and the client, or none (one CPU, no taskset, or PIN=0). */
const pin = ((): { server: string; client: string } | undefined => {
  const cpus = os.availableParallelism();
  if (process.env.PIN === '0' || cpus < 2 || spawnSync('taskset', ['-V']).status !== 0) return undefined;
  return { server: String(cpus - 1), client: '0' };
})();

/** `command args` as argv, run on `cpu` when pinning. */
const onCpu = (cpu: string | undefined, command: string, args: string[]): [string, string[]] =>
  cpu === undefined ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];

/** CPU time (user + system) of a process so far, in microseconds: /proc/<pid>/stat, in clock ticks. */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5); after "pid (comm) " they are the 12th and 13th.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

/** Loads the server on `port`; returns each command's sample and the server's CPU per request. */
async function load(
  port: number,
  pipeline: number,
  serverCpu: () => number,
): Promise<{ samples: Record<string, Sample>; cpuPerRequest: number }> {
  const args = [
    '-p',
    String(port),
    '-t',
    'set,get',
    '-n',
    String(REQUESTS[pipeline]),
    '-c',
    '50',
    '-P',
    String(pipeline),
    '-d',
    '256',
    '--csv',
  ];
  const before = serverCpu();
  const { stdout } = await run(...onCpu(pin?.client, 'redis-benchmark', args), { timeout: 300_000 });
  const cpuPerRequest = (serverCpu() - before) / (2 * REQUESTS[pipeline]!);
  const out: Record<string, Sample> = {};
  const lines = stdout.trim().split('\n');
  const head = lines[0]!.split(',').map((c) => c.replace(/"/g, ''));
  for (const line of lines.slice(1)) {
    const cells = line.split(',').map((c) => c.replace(/"/g, ''));
    const col = (name: string) => Number(cells[head.indexOf(name)]);
    out[cells[0]!] = { rps: col('rps'), p50: col('p50_latency_ms'), p99: col('p99_latency_ms') };
  }
  return { samples: out, cpuPerRequest };
}

/** This process's CPU time in microseconds (the example servers run in it). */
const ownCpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function withServer<T>(kind: Kind, f: (port: number, serverCpu: () => number) => Promise<T>): Promise<T> {
  if (kind === 'redis') {
    const port = 6400 + Math.floor(Math.random() * 500);
    const child: ChildProcess = spawn(...onCpu(pin?.server, 'redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no']), {
      stdio: 'ignore',
    });
    try {
      for (let i = 0; i < 100; i++) {
        if (
          spawnSync('redis-cli', ['-p', String(port), 'PING'])
            .stdout?.toString()
            .includes('PONG')
        )
          break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return await f(port, () => cpuMicros(child.pid!));
    } finally {
      child.kill();
    }
  }
  const server = await startRedisServer({ port: 0, ...(kind === 'plain' ? { buffers: 'plain' as const } : { io: kind }) });
  if (server.io !== kind) throw new Error(`asked for ${kind}, the example runs ${server.io}: ${server.pool.stats().io.reason}`);
  try {
    return await f(server.port, ownCpu);
  } finally {
    await server.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  header('loopback server throughput: the example Redis server (plain, net, uring, stream) and redis-server');
  if (spawnSync('redis-benchmark', ['--version']).status !== 0) {
    console.log('skipped: redis-benchmark is not installed (apt-get install redis-tools)');
    return;
  }
  const kinds: Kind[] = ['plain', 'net', 'uring', 'stream'];
  if (spawnSync('redis-server', ['--version']).status === 0) kinds.push('redis');
  else console.log('(redis-server is not installed: no outside reference; apt-get install redis-server)');
  if (pin !== undefined) {
    // Every thread of this process (the example servers run here) on the server's CPU.
    spawnSync('taskset', ['-a', '-p', '-c', pin.server, String(process.pid)]);
    console.log(`server on CPU ${pin.server}, redis-benchmark on CPU ${pin.client} (taskset)`);
  } else console.log('not pinned: one CPU, no taskset, or PIN=0');
  const samples = new Map<string, Sample[]>();
  const cpu = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round, so no server always runs first or last.
    const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]!);
    for (const kind of order) {
      for (const pipeline of PIPELINES) {
        const r = await withServer(kind, (port, serverCpu) => load(port, pipeline, serverCpu));
        cpu.set(`${kind} P${pipeline}`, [...(cpu.get(`${kind} P${pipeline}`) ?? []), r.cpuPerRequest]);
        for (const [cmd, sample] of Object.entries(r.samples)) {
          const key = `${kind} ${cmd} P${pipeline}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
        }
      }
    }
  }
  for (const pipeline of PIPELINES) {
    console.log(`\n### -P ${pipeline} (50 connections, ${fmt(REQUESTS[pipeline]!)} requests per command, median of ${ROUNDS} rounds)\n`);
    console.log('| server | SET req/s | vs plain | SET p50 / p99 ms | GET req/s | vs plain | GET p50 / p99 ms | server CPU µs/req |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const kind of kinds) {
      const cells: string[] = [];
      for (const cmd of ['SET', 'GET']) {
        const s = samples.get(`${kind} ${cmd} P${pipeline}`) ?? [];
        const base = samples.get(`plain ${cmd} P${pipeline}`) ?? [];
        const rps = median(s.map((x) => x.rps));
        cells.push(
          fmt(rps),
          `${(rps / median(base.map((x) => x.rps))).toFixed(2)}×`,
          `${median(s.map((x) => x.p50)).toFixed(3)} / ${median(s.map((x) => x.p99)).toFixed(3)}`,
        );
      }
      cells.push(median(cpu.get(`${kind} P${pipeline}`) ?? [NaN]).toFixed(2));
      console.log(`| ${kind} | ${cells.join(' | ')} |`);
    }
  }
  console.log('\n(redis-benchmark -t set,get -c 50 -d 256; rounds alternate the servers)');
}

void main();
