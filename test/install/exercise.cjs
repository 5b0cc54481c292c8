'use strict';
/** The work both consumer scripts do; the packages come in through the caller's import form. */
exports.exercise = async function exercise(createPool, loadedBindingPath, form) {
  const pool = createPool();
  const leases = [];
  for (let i = 0; i < 512; i++) {
    const lease = pool.acquire(512);
    if (lease.bytes.length !== 512 || lease.rioBuf.length !== 512) throw new Error(`lease ${i} is not 512 B`);
    lease.bytes.fill(i & 0xff);
    leases.push(lease);
  }
  leases.forEach((lease, i) => {
    if (lease.bytes.some((b) => b !== (i & 0xff))) throw new Error(`lease ${i} lost its bytes`);
  });
  const live = pool.stats().totals;
  for (const lease of leases) lease.release();
  const backend = pool.stats().backend;
  await pool.close();
  console.log(
    JSON.stringify({
      form,
      node: process.versions.node,
      backend,
      registrations: live.registrations,
      addon: loadedBindingPath(),
    }),
  );
};
