'use strict';
// Checks `riopool report --json` output (a file): it parses, says schema riopool-report/2, and
// its figures are numbers; with the repository's ajv (given as argv[3]) it also validates
// against docs/report.schema.json (argv[4]); argv[5] is the Node version that must have run it.
const fs = require('node:fs');
const [file, ajvPath, schemaPath, node] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const fail = (m) => {
  console.error(`report: ${m}`);
  process.exit(1);
};
if (r.schema !== 'riopool-report/2') fail(`schema is ${r.schema}`);
if (node && r.machine.node !== node) fail(`ran on node ${r.machine.node}, not ${node}`);
const num = (v, name) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${name} is ${JSON.stringify(v)}, not a number`);
  return v;
};
num(r.pageSize, 'pageSize');
num(r.idealBytes, 'idealBytes');
for (const s of ['perBuffer', 'slab']) {
  const st = r.strategies[s];
  for (const k of ['registrations', 'requestedBytes', 'mappedBytes', 'setupMs', 'completedBuffers']) num(st[k], `${s}.${k}`);
}
if (r.strategies.slab.registrations >= r.strategies.perBuffer.registrations) fail('slabs did not use fewer registrations');
num(r.ratios.slabOverIdeal, 'ratios.slabOverIdeal');
// A comparison is a result only when both strategies set up every buffer; else it says which stopped.
if (typeof r.complete !== 'boolean') fail(`complete is ${JSON.stringify(r.complete)}`);
const stops = ['perBuffer', 'slab'].filter((s) => r.strategies[s].stopped !== null);
if (r.complete !== (stops.length === 0)) fail(`complete is ${r.complete} with ${stops.join(', ') || 'no strategy'} stopped`);
if (r.complete) num(r.ratios.perBufferOverSlab, 'ratios.perBufferOverSlab');
else if (r.ratios.perBufferOverSlab !== null) fail('a truncated comparison has a ratio');
if (ajvPath) {
  const Ajv = require(ajvPath);
  const ajv = new (Ajv.default || Ajv)({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
  if (!validate(r)) fail(`does not match the schema: ${ajv.errorsText(validate.errors)}`);
}
console.log(
  `report ok: node ${r.machine.node}, ${r.backend}, ${r.workload.buffers} buffers, ` +
    `${r.strategies.perBuffer.registrations} vs ${r.strategies.slab.registrations} registrations` +
    (r.complete
      ? ''
      : `; stopped: ${stops.map((s) => `${s} at ${r.strategies[s].stopped.afterBuffers} (${r.strategies[s].stopped.limit})`).join(', ')}`),
);
