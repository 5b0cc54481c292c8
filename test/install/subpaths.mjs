// In a consumer project: every `exports` entry of the three packages (".", and any subpath such
// as "@riopool/pool/testing") loads with require() and with import(), with the same names.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lines = [];
for (const pkg of ['@riopool/core', '@riopool/native', '@riopool/pool']) {
  const manifest = require(`${pkg}/package.json`);
  for (const key of Object.keys(manifest.exports)) {
    if (key === './package.json') continue;
    const spec = key === '.' ? pkg : `${pkg}/${key.slice(2)}`;
    const cjs = require(spec);
    const esm = await import(spec);
    const missing = Object.keys(cjs).filter((k) => esm[k] !== cjs[k]);
    if (Object.keys(cjs).length === 0) throw new Error(`${spec} exports nothing`);
    if (missing.length > 0) throw new Error(`${spec}: import lacks ${missing.join(', ')}`);
    lines.push(`${spec}: ${Object.keys(cjs).length} names`);
  }
}
console.log(lines.join('\n'));
