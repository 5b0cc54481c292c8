// The pool's test helpers: where the built package is, a consumer project, a child node with the
// pool in scope, an echo server, the leases a connection holds, and waiting for them to return.
import { isLinux, runNode, sleep, type ChildResult } from '../../../test/support';

export { withCode as code, isLinux, isRoot, canDropPrivileges, spawnNode, sleep, waitFor } from '../../../test/support';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createServer, type Connection, type IoOptions, type Lease, type Pool } from '@riopool/pool';
import { assertNoOutstanding, checkInvariants } from '@riopool/pool/testing';

/** Where the compiled pool package lives, for child processes and workers (pnpm test builds it). */
export const POOL_DIST = path.resolve(__dirname, '..', 'dist', 'index.js');

/** The repository's root. */
export const ROOT = path.resolve(__dirname, '../../..');

/**
 * A fresh temporary project whose `@riopool/core`, `native` and `pool` resolve to this workspace's
 * packages (as an installed consumer's would): for type-checking and running code as users write it.
 */
export function workspaceConsumerDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(dir, 'node_modules/@riopool'), { recursive: true });
  for (const p of ['core', 'native', 'pool'])
    fs.symlinkSync(path.join(ROOT, 'packages', p), path.join(dir, 'node_modules/@riopool', p), 'dir');
  return dir;
}

/** Runs a script in a child node with `riopool` (the built pool package) in scope. */
export function runChild(script: string, nodeArgs: string[] = []): ChildResult {
  return runNode(`const riopool = require(${JSON.stringify(POOL_DIST)});\n${script}`, { nodeArgs });
}

/** How many descriptors this process has open (0 where there is no /proc/self/fd). */
export const fds = () => (isLinux ? fs.readdirSync('/proc/self/fd').length : 0);

/**
 * Echoes each lease `conn` receives: written back as is, then released. With `backpressure`, the
 * connection pauses while its writes are past the high-water mark, until 'drain'.
 */
export function echo(conn: Connection, backpressure = false): void {
  conn.on('data', (lease: Lease) => {
    if (!conn.write(lease) && backpressure) {
      conn.pause();
      conn.once('drain', () => conn.resume());
    }
    lease.release();
  });
}

/** A server on `pool` whose every connection `serve` handles (by default `echo`), listening on a free port. */
export async function echoServer(
  pool: Pool,
  options: IoOptions,
  serve: (conn: Connection) => void = (conn) => echo(conn),
): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = createServer(pool, options, (conn) => {
    connections++;
    serve(conn);
  });
  const { port } = await server.listen({ port: 0 });
  return { port, connections: () => connections, close: () => server.close() };
}

/** The datapaths the I/O tests run on: `net` everywhere, `uring` where the pool's ring can do I/O. */
export const DATAPATHS = ['net', 'uring'] as const;

/** Leases outstanding but the receive ring's own buffers. */
export function outstanding(pool: Pool): number {
  const s = pool.stats();
  return s.totals.leased - (s.io.ring?.lent ?? 0);
}

/** Bytes of leases held for connections: all leased bytes but the receive ring's own buffers. */
export function heldForConnections(pool: Pool): number {
  const s = pool.stats();
  return s.totals.reservedBytes - (s.io.ring === null ? 0 : s.io.ring.lent * s.io.ring.bufferBytes);
}

/** Waits (up to a second) for the leases that operations still in flight hold to come back. */
export async function settle(pool: Pool): Promise<void> {
  for (let i = 0; i < 200 && outstanding(pool) > 0; i++) await sleep(5);
}

/** After an I/O test: every lease back, the invariants hold, nothing outstanding; then closes the pool. */
export async function settleCheckAndClose(pool: Pool): Promise<void> {
  await settle(pool);
  checkInvariants(pool);
  assertNoOutstanding(pool);
  await pool.close();
}
