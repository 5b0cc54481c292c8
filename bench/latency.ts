/**
 * Scenario 5a: latency and CPU per request, one request at a time. The example Redis-protocol
 * server on the ring (uring), plain node:net and Debian's C redis-server (and BASELINE's example
 * as `base`), each in its own process on the last CPU, loaded by redis-benchmark on the first:
 *
 *   -c 1    one connection, one request at a time: every request is a round trip through the
 *           server's wake-up, its turn of JavaScript and its reply
 *   -c 50   fifty connections at -P 1: many sockets, a request each per round trip
 *
 * SET and GET of 256 bytes, ROUNDS rounds (default 7) in an order that rotates, each server's
 * load about a second (sized per server by a short probe, so a server that stalls still finishes).
 * Reported per load: round trips per second, redis-benchmark's p50 and p99 latency, and the
 * server's CPU time per request, user and system, from /proc/<pid>/stat; then ratios to plain,
 * redis-server and base, paired round by round (medians, with the middle half in brackets).
 *
 *   node bench/dist/latency.js          (or: pnpm bench latency; RIOPOOL_NODE=24 picks the Node)
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
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 7) || 1);
const CLIENTS = [1, 50];
/** Seconds each load aims at. */
const SECONDS = Number(process.env.SECONDS ?? 1) || 1;

interface Sample {
  /** Requests per second, SET and GET together. */
  rps: number;
  /** redis-benchmark's p50 and p99 latency, ms: the worse of SET's and GET's. */
  p50: number;
  p99: number;
  /** The server's CPU time per request, µs. */
  user: number;
  system: number;
}

/** One load of `requests` SETs and as many GETs over `clients` connections, one request in flight on each. */
async function load(server: Server, clients: number, requests: number): Promise<Sample> {
  const args = ['-p', String(server.port), '-t', 'set,get', '-n', String(requests), '-c', String(clients), '-P', '1', '-d', '256', '--csv'];
  const before = cpuMicros(server.child.pid!);
  const started = process.hrtime.bigint();
  const { stdout } = await run(...onCpu(pin?.client, 'redis-benchmark', args), { timeout: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = cpuMicros(server.child.pid!);
  const lines = stdout.trim().split('\n');
  const head = lines[0]!.split(',').map((c) => c.replace(/"/g, ''));
  let p50 = 0;
  let p99 = 0;
  for (const line of lines.slice(1)) {
    const cells = line.split(',').map((c) => c.replace(/"/g, ''));
    const col = (name: string) => Number(cells[head.indexOf(name)]);
    p50 = Math.max(p50, col('p50_latency_ms'));
    p99 = Math.max(p99, col('p99_latency_ms'));
  }
  return {
    rps: (2 * requests) / seconds,
    p50,
    p99,
    user: (after.user - before.user) / (2 * requests),
    system: (after.system - before.system) / (2 * requests),
  };
}

async function main(): Promise<void> {
  header('latency and CPU per request, one request at a time: the example on the ring, plain node:net, redis-server');
  if (!haveRedisBenchmark()) return;
  const kinds = serverKinds(['plain', 'uring', 'redis']);
  const servers: Server[] = [];
  const samples = new Map<string, Sample[]>();
  try {
    for (const kind of kinds) servers.push(await startServer(kind));
    // Warm-up, and each server's load size: about SECONDS at the rate a short probe shows.
    const requests = new Map<string, number>();
    for (const server of servers) {
      for (const clients of CLIENTS) {
        await load(server, clients, 2000);
        const probe = await load(server, clients, 500);
        requests.set(`${server.kind} c${clients}`, Math.max(200, Math.round((probe.rps * SECONDS) / 2)));
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const clients of CLIENTS) {
        const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
        for (const server of order) {
          const key = `${server.kind} c${clients}`;
          const s = await load(server, clients, requests.get(key)!);
          if (process.env.VERBOSE === '1')
            console.log(`round ${round} ${key}: ${fmt(s.rps)}/s p50 ${s.p50} p99 ${s.p99} ms, ${(s.user + s.system).toFixed(2)} µs/req`);
          samples.set(key, [...(samples.get(key) ?? []), s]);
        }
      }
    }
  } finally {
    for (const server of servers) server.child.kill();
  }
  const others = (['plain', 'redis', 'base'] as Kind[]).filter((k) => kinds.includes(k));
  for (const clients of CLIENTS) {
    console.log(`\n### -c ${clients} -P 1 (SET and GET, 256 B; medians of ${ROUNDS} rounds)\n`);
    const ratioHeads = others.map((k) => `vs ${k}: round trips / p99 / CPU`);
    console.log(
      `| server | round trips/s | p50 / p99 ms | CPU µs/req (median of user + system: user, system) | ${ratioHeads.join(' | ')} |`,
    );
    console.log(`|---|---:|---:|---:|${others.map(() => '---:|').join('')}`);
    const of = (k: Kind) => samples.get(`${k} c${clients}`) ?? [];
    for (const kind of kinds) {
      const s = of(kind);
      const cpu = (k: Kind) => of(k).map((x) => x.user + x.system);
      const cells = [
        fmt(median(s.map((x) => x.rps))),
        `${median(s.map((x) => x.p50)).toFixed(3)} / ${median(s.map((x) => x.p99)).toFixed(3)}`,
        `${median(cpu(kind)).toFixed(2)}: ${median(s.map((x) => x.user)).toFixed(2)} + ${median(s.map((x) => x.system)).toFixed(2)}`,
      ];
      // Ratios this / other: round trips above 1 are faster, p99 and CPU below 1 are better.
      for (const other of others)
        cells.push(
          kind === other
            ? '1'
            : `${paired(
                s.map((x) => x.rps),
                of(other).map((x) => x.rps),
              )} / ${paired(
                s.map((x) => x.p99),
                of(other).map((x) => x.p99),
              )} / ${paired(cpu(kind), cpu(other))}`,
        );
      console.log(`| ${kind} | ${cells.join(' | ')} |`);
    }
  }
  if (BASELINE !== undefined) console.log(`\nbase: the example of ${BASELINE}`);
  console.log('\n(ratios: this server over the other, paired round by round: the median, the middle half in brackets;');
  console.log(' round trips above 1 are faster, p99 and CPU below 1 are better)');
}

void main();
