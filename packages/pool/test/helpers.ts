import { runNode, type ChildResult } from '../../../test/support';

export { withCode as code, isLinux, isRoot, canDropPrivileges, spawnNode } from '../../../test/support';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pool } from '@riopool/pool';
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
  for (let i = 0; i < 200 && outstanding(pool) > 0; i++) await new Promise((r) => setTimeout(r, 5));
}

/** After an I/O test: every lease back, the invariants hold, nothing outstanding; then closes the pool. */
export async function settleCheckAndClose(pool: Pool): Promise<void> {
  await settle(pool);
  checkInvariants(pool);
  assertNoOutstanding(pool);
  await pool.close();
}
