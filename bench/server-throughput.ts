/**
 * Scenario 5: loopback server throughput. The example Redis-protocol server with pool buffers
 * against the same server with plain Buffers, each loaded by redis-benchmark (SET and GET,
 * 50 connections, pipelines of 16) in the same run. Needs redis-benchmark (Debian: redis-tools).
 * READ_SIZE=<bytes> overrides the server's receive lease size (default 16 KiB).
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedisServer } from '@riopool/examples/redis-server';
import { header } from './support';

const run = promisify(execFile);

async function load(port: number): Promise<Record<string, number>> {
  const { stdout } = await run('redis-benchmark', ['-p', String(port), '-t', 'set,get', '-n', '400000', '-c', '50', '-P', '16', '-d', '256', '--csv'], { timeout: 120000 });
  const rps: Record<string, number> = {};
  for (const line of stdout.trim().split('\n').slice(1)) {
    const cells = line.split(',').map((c) => c.replace(/"/g, ''));
    rps[cells[0]!] = Number(cells[1]);
  }
  return rps;
}

async function main(): Promise<void> {
  header('loopback server throughput: example Redis server, pool buffers vs plain Buffers');
  if (spawnSync('redis-benchmark', ['--version']).status !== 0) {
    console.log('skipped: redis-benchmark is not installed (apt-get install redis-tools)');
    return;
  }
  const results: Record<string, number[]> = {};
  for (const buffers of ['plain', 'pool', 'plain', 'pool'] as const) {
    const server = await startRedisServer({ port: 0, buffers, ...(process.env.READ_SIZE ? { readSize: Number(process.env.READ_SIZE) } : {}) });
    const r = await load(server.port);
    await server.close();
    for (const [k, v] of Object.entries(r)) {
      const key = `${buffers} ${k}`;
      results[key] = [...(results[key] ?? []), v];
    }
  }
  console.log('\n| command | plain Buffers req/s | pool buffers req/s | pool vs plain |');
  console.log('|---|---:|---:|---:|');
  for (const cmd of ['SET', 'GET']) {
    const best = (xs: number[] | undefined) => Math.max(...(xs ?? [NaN]));
    const plain = best(results[`plain ${cmd}`]);
    const pool = best(results[`pool ${cmd}`]);
    console.log(`| ${cmd} | ${Math.round(plain).toLocaleString('en-US')} | ${Math.round(pool).toLocaleString('en-US')} | ${(pool / plain).toFixed(2)}× |`);
  }
  console.log('\n(best of two runs each, alternated; redis-benchmark -n 400000 -c 50 -P 16 -d 256)');
}

void main();
