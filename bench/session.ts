/**
 * The example server's request handling alone, without sockets: its Session (parse, execute,
 * replies into a LeaseWriter) over SET and GET of a 256-byte value, as redis-benchmark sends them
 * (one key over and over), with 100,000 keys, and with one request a receive (a pipeline of 1)
 * instead of 16. What the datapath adds is measured by server-throughput.ts; this is the rest.
 *
 *   node --expose-gc bench/dist/session.js
 *   BASELINE=<an older checkout, built> node --expose-gc bench/dist/session.js
 *
 * With BASELINE, the Session of that checkout's example runs beside this one in the same rounds
 * ("base"), each with its own store (that checkout's KeyStore, or a Map by string before it had
 * one). Reported: ns per request (SET and GET alike), the median of 9 rotated rounds.
 */
import * as path from 'node:path';
import { createPool, LeaseWriter } from '@riopool/pool';
import * as example from '@riopool/examples/redis-server';
import { header, measure, type Measured } from './support';

const BASELINE = process.env.BASELINE;
const VALUE = 'x'.repeat(256);

type ExampleModule = typeof example;

/** The requests of one receive: `perReceive` SETs, then as many GETs, of keys from `keys`. */
function receives(perReceive: number, keys: number): Buffer[] {
  const out: Buffer[] = [];
  const key = (i: number) => (keys === 1 ? 'key:__rand_int__' : `key:${String(i % keys).padStart(12, '0')}`);
  for (let at = 0; at < Math.max(keys, perReceive); at += perReceive) {
    let set = '';
    let get = '';
    for (let i = at; i < at + perReceive; i++) {
      set += `*3\r\n$3\r\nSET\r\n$${key(i).length}\r\n${key(i)}\r\n$256\r\n${VALUE}\r\n`;
      get += `*2\r\n$3\r\nGET\r\n$${key(i).length}\r\n${key(i)}\r\n`;
    }
    out.push(Buffer.from(set, 'latin1'), Buffer.from(get, 'latin1'));
  }
  return out;
}

/** A task: `n` requests through a Session of `m`, cycling through `input`. */
function task(m: ExampleModule, writer: () => LeaseWriter, input: Buffer[], perReceive: number): (n: number) => void {
  const store = m.KeyStore !== undefined ? new m.KeyStore() : new Map();
  let replies = 0;
  const io = {
    write: () => {
      replies++;
      return true; // the Session releases its reply after write(): nothing is kept
    },
    pause: () => {},
    end: () => {},
  };
  const session = new m.Session({ store: store as example.KeyStore, out: writer(), io });
  let at = 0;
  return (n) => {
    for (let done = 0; done < n; done += perReceive) {
      session.data(input[at]!);
      at = at + 1 === input.length ? 0 : at + 1;
    }
    if (replies === 0) throw new Error('no reply');
  };
}

async function main(): Promise<void> {
  header("the example's Session alone: SET + GET of 256 bytes, over a LeaseWriter");
  const here = createPool();
  const writer = () => new LeaseWriter(here);
  // The baseline's example with its own pool package (a LeaseWriter takes only its own pools).
  const base: { m: ExampleModule; writer: () => LeaseWriter } | undefined =
    BASELINE === undefined
      ? undefined
      : (() => {
          const m = require(path.join(BASELINE, 'examples/dist/redis-server.js')) as ExampleModule;
          const theirs = require(path.join(BASELINE, 'packages/pool/dist/index.js')) as typeof import('@riopool/pool');
          const pool = theirs.createPool();
          return { m, writer: () => new theirs.LeaseWriter(pool) };
        })();
  for (const [label, perReceive, keys] of [
    ['16 requests a receive, one key', 16, 1],
    ['1 request a receive, one key', 1, 1],
    ['16 requests a receive, 100,000 keys', 16, 100_000],
  ] as const) {
    console.log(`\n### ${label}\n`);
    const input = receives(perReceive, keys);
    const tasks: [string, (n: number) => void][] = [['this', task(example, writer, input, perReceive)]];
    if (base !== undefined) tasks.push(['base', task(base.m, base.writer, input, perReceive)]);
    // Fill the stores first: every key set once, so that GETs find their values.
    for (const [, fn] of tasks) fn(Math.max(keys, 1024) * 2);
    const rows: Measured[] = await measure(tasks, { batch: 1024, rounds: 9 });
    const b = rows.find((x) => x.name === 'base');
    console.log('| example | ns/request | spread ± % | base / this (lowest–highest round) |');
    console.log('|---|---:|---:|---|');
    for (const r of rows) {
      const perRound = b === undefined ? [] : r.rounds.map((ns, i) => b.rounds[i]! / ns);
      const ratio =
        b === undefined
          ? ''
          : `${(b.nsPerOp / r.nsPerOp).toFixed(2)}× (${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)})`;
      console.log(`| ${r.name} | ${r.nsPerOp.toFixed(0)} | ${r.spread.toFixed(1)} | ${ratio} |`);
    }
  }
  if (BASELINE !== undefined) console.log(`\nbase: the example of ${BASELINE}`);
}

void main();
