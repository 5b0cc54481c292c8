import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const code = (c: string) => expect.objectContaining({ code: c });
export const isLinux = process.platform === 'linux';

/** Where the compiled pool package lives, for child processes and workers (pnpm test builds it). */
export const POOL_DIST = path.resolve(__dirname, '..', 'dist', 'index.js');

/** Runs a script in a child node; returns its last stdout line parsed as JSON, and its stderr. */
export function runChild(script: string, nodeArgs: string[] = []): { json: any; status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [...nodeArgs, '-e', `const riopool = require(${JSON.stringify(POOL_DIST)});\n${script}`], {
    encoding: 'utf8',
  });
  const lines = (r.stdout ?? '').trim().split('\n');
  let json: any = null;
  try {
    json = JSON.parse(lines[lines.length - 1] ?? 'null');
  } catch {
    json = null;
  }
  return { json, status: r.status, stderr: r.stderr ?? '' };
}
