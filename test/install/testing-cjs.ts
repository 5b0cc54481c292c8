// The testing kit's snippet in a CommonJS consumer: copied to cjs/ under a package.json with
// "type": "commonjs", compiled by TypeScript (module nodenext, strict) against the consumer's own
// fast-check, and run (test/install/run.sh).
import fc = require('fast-check');
import testing = require('@riopool/pool/testing');

const workloads: fc.Arbitrary<testing.WorkloadStep[]> = testing.workloadArbitrary(fc, { maxSteps: 100 });
let runs = 0;
fc.assert(
  fc.property(testing.workloadArbitrary(fc), (steps) => {
    const pool = testing.createMemoryPool();
    testing.runWorkload(pool, steps).releaseAll();
    testing.assertNoOutstanding(pool);
    runs++;
  }),
  { numRuns: 100, seed: 1 },
);
fc.assert(
  fc.property(testing.lengthArbitrary(fc, { max: 700 }), workloads, (n, steps) => n >= 1 && n <= 700 && steps.length <= 100),
  { numRuns: 100, seed: 2 },
);
const own = workloads instanceof fc.Arbitrary && testing.lengthArbitrary(fc) instanceof fc.Arbitrary;
console.log(JSON.stringify({ form: 'cjs', node: process.versions.node, runs, own }));
