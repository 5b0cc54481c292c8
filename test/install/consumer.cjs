// A consumer's CommonJS script, run from an empty project where the packed @riopool/* tarballs
// were installed (test/install/run.sh). Creates a pool, acquires 512 leases of 512 B, writes
// each, reads them back, releases them, closes; prints one JSON line about what ran.
'use strict';
const { createPool } = require('@riopool/pool');
const { loadedBindingPath } = require('@riopool/native');
const { exercise } = require('./exercise.cjs');

exercise(createPool, loadedBindingPath, 'cjs').catch((e) => {
  console.error(e);
  process.exit(1);
});
