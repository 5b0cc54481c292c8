// The testing kit's snippet (docs/api.md, Testing) in an ES module consumer: copied to esm/ under
// a package.json with "type": "module", compiled by TypeScript (module nodenext, strict) against
// the consumer's own fast-check, and run (test/install/run.sh). Before the arbitraries took `fc`,
// this failed to compile with TS2345: the kit's Arbitrary came from fast-check's CJS declarations.
import fc, { type Arbitrary } from 'fast-check';
import {
  assertNoOutstanding,
  createMemoryPool,
  lengthArbitrary,
  runWorkload,
  workloadArbitrary,
  type WorkloadStep,
} from '@riopool/pool/testing';

const workloads: Arbitrary<WorkloadStep[]> = workloadArbitrary(fc, { maxSteps: 100 });
let runs = 0;
fc.assert(
  fc.property(workloadArbitrary(fc), (steps) => {
    const pool = createMemoryPool();
    runWorkload(pool, steps).releaseAll();
    assertNoOutstanding(pool);
    runs++;
  }),
  { numRuns: 100, seed: 1 },
);
fc.assert(
  fc.property(lengthArbitrary(fc, { max: 700 }), workloads, (n, steps) => n >= 1 && n <= 700 && steps.length <= 100),
  { numRuns: 100, seed: 2 },
);
// Built with the consumer's fast-check: an instance of its own Arbitrary class.
const own = workloads instanceof fc.Arbitrary && lengthArbitrary(fc) instanceof fc.Arbitrary;
console.log(JSON.stringify({ form: 'esm', node: process.versions.node, runs, own }));
