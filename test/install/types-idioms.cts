// The same idioms from a CommonJS module (import = require), with `using` and `await using`.
import riopool = require('@riopool/pool');

async function main(): Promise<number> {
  await using pool = riopool.createPool({ backend: 'none' });
  using lease = pool.acquire(16);
  const conn = undefined as riopool.Connection | undefined;
  conn?.on('end', () => undefined);
  return lease.rioBuf.offset + lease.bytes.readUInt8(0);
}
export = main;
