/**
 * `pnpm bench`: every scenario, each in its own process (a clean heap and JIT), one after
 * another, with --expose-gc.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const SCENARIOS = [
  'acquire-release',
  'steady-garbage',
  'view-memory',
  'setup-cost',
  'churn',
  'idle-connections',
  'large-request',
  'burst',
  'session',
  'latency',
  'server-throughput',
];

let failed = 0;
for (const name of process.argv.length > 2 ? process.argv.slice(2) : SCENARIOS) {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, `${name}.js`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench ${name} exited with ${r.status}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
