// The same from a CommonJS module (import = require).
import riopool = require('@riopool/pool');

const pool = riopool.createPool();
const lease: riopool.Lease = pool.acquire(512);
const offset: number = lease.rioBuf.offset;
lease.release();
export = { offset, closing: pool.close() };
