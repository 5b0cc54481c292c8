/**
 * The one test-support module: platform checks, the child process (optionally unprivileged),
 * error matchers and the property-test parameters. Every test file's helpers come from here.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

export { propertyParams } from './property';

export const isLinux = process.platform === 'linux';
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
/** Tests that need root to start an unprivileged child (setpriv) on Linux. */
export const canDropPrivileges = isLinux && isRoot;

/** Matches an error with this `code` (a RioError, or an errno-style code from the addon). */
export const withCode = (code: string) => expect.objectContaining({ code });
/**
 * Jest runs tests in their own realm, so `toThrow(TypeError)` does not match a TypeError made
 * by the addon or by Node (main realm). Match by name instead.
 */
export const aTypeError = expect.objectContaining({ name: 'TypeError' });

/** Runs a node script in a child process (optionally as the unprivileged user 65534). */

export interface ChildResult {
  /** The last line of stdout, parsed as JSON (null if it is not JSON). */
  json: any;
  status: number | null;
  stderr: string;
}

/**
 * The lock every child that runs as uid 65534 holds while it runs. io_uring charges pinned
 * memory to the user, not the process, so two such children at once (jest runs test files in
 * parallel) draw on one RLIMIT_MEMLOCK, and a child that fills it makes the other fail
 * (`riopool report` as 65534 stopped its slabs at 5,888 buffers beside a second one). flock(1)
 * serializes them across jest's workers.
 */
export const NOBODY_LOCK = path.join(os.tmpdir(), 'riopool-test-uid65534.lock');

export interface SpawnOptions {
  /** Run as the unprivileged user 65534 (setpriv), holding NOBODY_LOCK. */
  asNobody?: boolean;
  /** With asNobody: RLIMIT_MEMLOCK for the child, soft and hard, in bytes (set by prlimit before privileges drop). */
  memlockBytes?: number;
  timeout?: number;
}

/** The command line that runs `argv` as uid 65534 under NOBODY_LOCK, optionally with a memlock limit. */
export function asNobodyCommand(argv: string[], memlockBytes?: number): [string, string[]] {
  const limit = memlockBytes === undefined ? [] : ['prlimit', `--memlock=${memlockBytes}:${memlockBytes}`];
  return ['flock', [NOBODY_LOCK, ...limit, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv]];
}

/** Runs this node with `args`, as root's child or (asNobody) as the unprivileged user 65534. */
export function spawnNode(args: string[], opts: SpawnOptions = {}) {
  const [cmd, full] = opts.asNobody ? asNobodyCommand([process.execPath, ...args], opts.memlockBytes) : [process.execPath, args];
  return spawnSync(cmd, full, { encoding: 'utf8', env: { ...process.env }, timeout: opts.timeout ?? 120000 });
}

export function runNode(script: string, opts: { nodeArgs?: string[] } & SpawnOptions = {}): ChildResult {
  const r = spawnNode([...(opts.nodeArgs ?? []), '-e', script], opts);
  const lines = (r.stdout ?? '').trim().split('\n');
  let json: any = null;
  try {
    json = JSON.parse(lines[lines.length - 1] ?? 'null');
  } catch {
    json = null;
  }
  return { json, status: r.status, stderr: r.stderr ?? '' };
}
