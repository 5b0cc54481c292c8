/**
 * The one test-support module: platform checks, the child process (optionally unprivileged),
 * error matchers and the property-test parameters. Every test file's helpers come from here.
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
 * same user at once (jest runs files in parallel workers) would see each other's pins. Ids from
 * 61000 to 64999, none of which has a passwd entry (setpriv does not need one).
 */
export function unprivilegedUid(): number {
  return 61000 + ((process.pid * 64 + unprivilegedCalls++) % 4000);
}

/** Runs this node with `args`, as root's child or (asNobody) as an unprivileged user of its own. */
export function spawnNode(args: string[], opts: { asNobody?: boolean; timeout?: number } = {}) {
  const cmd = opts.asNobody ? 'setpriv' : process.execPath;
  const uid = opts.asNobody ? unprivilegedUid() : 0;
  const full = opts.asNobody ? [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, ...args] : args;
  return spawnSync(cmd, full, { encoding: 'utf8', env: { ...process.env }, timeout: opts.timeout ?? 120000 });
}

export function runNode(script: string, opts: { nodeArgs?: string[]; asNobody?: boolean } = {}): ChildResult {
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
