/** Runs a node script in a child process (optionally as the unprivileged user 65534). */
import { spawnSync } from 'node:child_process';

export interface ChildResult {
  /** The last line of stdout, parsed as JSON (null if it is not JSON). */
  json: any;
  status: number | null;
  stderr: string;
}

export function runNode(script: string, opts: { nodeArgs?: string[]; asNobody?: boolean } = {}): ChildResult {
  const nodeArgs = [...(opts.nodeArgs ?? []), '-e', script];
  const cmd = opts.asNobody ? 'setpriv' : process.execPath;
  const args = opts.asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...nodeArgs] : nodeArgs;
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env } });
  const lines = (r.stdout ?? '').trim().split('\n');
  let json: any = null;
  try {
    json = JSON.parse(lines[lines.length - 1] ?? 'null');
  } catch {
    json = null;
  }
  return { json, status: r.status, stderr: r.stderr ?? '' };
}
