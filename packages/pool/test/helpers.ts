import { runNode, type ChildResult } from '../../../test/support';

export { withCode as code, isLinux, isRoot, canDropPrivileges } from '../../../test/support';
import * as path from 'node:path';

/** Where the compiled pool package lives, for child processes and workers (pnpm test builds it). */
export const POOL_DIST = path.resolve(__dirname, '..', 'dist', 'index.js');

/** Runs a script in a child node with `riopool` (the built pool package) in scope. */
export function runChild(script: string, nodeArgs: string[] = []): ChildResult {
  return runNode(`const riopool = require(${JSON.stringify(POOL_DIST)});\n${script}`, { nodeArgs });
}
