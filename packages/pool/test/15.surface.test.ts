/**
 * The public surface is what docs/api.md documents, and nothing reachable from a pool or a lease
 * can change the allocator's state.
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as riopool from '@riopool/pool';
import * as testing from '@riopool/pool/testing';
import { connect, createPool, createServer, type Lease, type Pool } from '@riopool/pool';
import { checkInvariants } from '@riopool/pool/testing';
import { code } from './helpers';

const API = fs.readFileSync(path.join(__dirname, '../../../docs/api.md'), 'utf8');

/** Names documented as `prefix.name` anywhere in docs/api.md. */
function documented(prefix: string): Set<string> {
  return new Set([...API.matchAll(new RegExp(`\\b${prefix}\\.(\\w+)`, 'g'))].map((m) => m[1]!));
}

/** Backticked names in the docs/api.md section whose heading starts with `heading`. */
function sectionNames(heading: string): Set<string> {
  const start = API.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`docs/api.md has no section "${heading}"`);
  const end = API.indexOf('\n## ', start + 4);
  const text = API.slice(start, end < 0 ? undefined : end);
  return new Set([...text.matchAll(/`(\w+)/g)].map((m) => m[1]!));
}

/** Every property name reachable on an object and its prototypes (Object's and EventEmitter's excluded). */
function reachable(obj: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = obj; o !== null && o !== Object.prototype && o !== EventEmitter.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Reflect.ownKeys(o)) if (typeof key === 'string' && key !== 'constructor') names.add(key);
  }
  return [...names].sort();
}

let pool: Pool;
afterEach(() => pool.close());

test("the snippet that once freed another lease's slot cannot be written any more", () => {
  pool = createPool({ backend: 'none' });
  const a = pool.acquire(64);
  const p = pool as unknown as Record<string, unknown>;
  for (const name of ['releaseLease', 'retire', 'grow', 'registrar', 'table', 'slabs', 'take', 'releaseSlot']) {
    expect(p[name]).toBeUndefined();
  }
  expect(() => (p.releaseLease as (l: Lease) => void)(a)).toThrow(TypeError);
  const l = a as unknown as Record<string, unknown>;
  expect([l.slab, l.slot, l.refs]).toEqual([undefined, undefined, undefined]);
  l.refs = 5; // a new, unrelated property: the lease's references are private
  a.release();
  expect(a.released).toBe(true);
  const b = pool.acquire(64);
  expect(() => a.release()).toThrow(code('ERR_RIO_RELEASED'));
  const c = pool.acquire(64);
  expect(c.rioBuf.offset).not.toBe(b.rioBuf.offset);
  expect(b.released).toBe(false);
  checkInvariants(pool);
  b.release();
  c.release();
});

test('new Pool() outside createPool is refused', () => {
  pool = createPool({ backend: 'none' });
  const Ctor = pool.constructor as new (...args: unknown[]) => unknown;
  expect(() => new Ctor(Symbol('createPool'), {}, [], {})).toThrow(code('ERR_RIO_INVALID_OPTION'));
});

test('every export of @riopool/pool and @riopool/pool/testing is documented in docs/api.md', () => {
  const exportsDoc = sectionNames('Exports');
  expect(Object.keys(riopool).filter((k) => !exportsDoc.has(k))).toEqual([]);
  const testingDoc = sectionNames('Testing');
  expect(Object.keys(testing).filter((k) => !testingDoc.has(k))).toEqual([]);
});

test('every member reachable from a pool and a lease is documented in docs/api.md', () => {
  pool = createPool({ backend: 'none', checked: true });
  const lease = pool.acquire(100);
  const poolDoc = documented('pool');
  const leaseDoc = documented('lease');
  expect(reachable(pool).filter((k) => !poolDoc.has(k))).toEqual([]);
  expect(reachable(lease).filter((k) => !leaseDoc.has(k))).toEqual([]);
  // The classes behind them carry no static members either.
  expect(reachable(pool.constructor).filter((k) => !['length', 'name', 'prototype'].includes(k) && !(k in Function.prototype))).toEqual([]);
  expect(reachable(lease.constructor).filter((k) => !['length', 'name', 'prototype'].includes(k) && !(k in Function.prototype))).toEqual(
    [],
  );
  lease.release();
});

test('every member reachable from a server and a connection is documented in docs/api.md', async () => {
  pool = createPool();
  const server = createServer(pool);
  const { port } = await server.listen();
  const conn = await connect(pool, { port });
  // Private state of EventEmitter itself (_events, ...) is Node's, not riopool's.
  const own = (o: object) => reachable(o).filter((k) => !k.startsWith('_') && k !== 'shapeMode' && !(k in EventEmitter.prototype));
  expect(own(server).filter((k) => !documented('server').has(k))).toEqual([]);
  expect(own(conn).filter((k) => !documented('conn').has(k))).toEqual([]);
  conn.destroy();
  await server.close();
});
