/**
 * The one test-support module: platform checks, the child process (optionally unprivileged),
 * error matchers, waiting (sleep, waitFor) and the property-test parameters. Every test file's
 * helpers come from here.
 */
import { spawnSync } from 'node:child_process';

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

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms, up to 5 s (a liveness bound); throws naming `what` if it never holds. */
export async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/** Runs a node script in a child process (optionally as an unprivileged user). */

export interface ChildResult {
  /** The last line of stdout, parsed as JSON (null if it is not JSON). */
  json: any;
  status: number | null;
  stderr: string;
}

let unprivilegedCalls = 0;

/**
 * A user id of its own for an unprivileged child. The kernel charges io_uring's pins to the
 * *user*, shared by all of that user's processes: two tests that fill the memlock limit as the
 * same user at once (jest runs files in parallel workers) would see each other's pins (`riopool
 * report` as 65534 stopped its slabs at 5,888 buffers beside a second one). So every child gets
 * a uid of its own, from 61000 to 64999, none of which has a passwd entry (setpriv needs none):
 * they run in parallel and each has the whole limit.
 */
export function unprivilegedUid(): number {
  return 61000 + ((process.pid * 64 + unprivilegedCalls++) % 4000);
}

export interface SpawnOptions {
  /** Run as an unprivileged user of its own (setpriv). */
  asNobody?: boolean;
  /** With asNobody: RLIMIT_MEMLOCK for the child, soft and hard, in bytes (set by prlimit before privileges drop). */
  memlockBytes?: number;
  timeout?: number;
}

/** The command line that runs `argv` as an unprivileged user of its own, optionally with a memlock limit. */
export function asNobodyCommand(argv: string[], memlockBytes?: number): [string, string[]] {
  const uid = unprivilegedUid();
  const limit = memlockBytes === undefined ? [] : [`--memlock=${memlockBytes}:${memlockBytes}`];
  return ['prlimit', [...limit, 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...argv]];
}

/** Runs this node with `args`, as root's child or (asNobody) as an unprivileged user of its own. */
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
