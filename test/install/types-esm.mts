// Type-checked in a consumer project (test/install/run.sh) with module and moduleResolution
// nodenext: the types come through the packages' `exports` maps, from an ES module.
import { createPool, type Lease, type RioBuf } from '@riopool/pool';
import { loadedBindingPath, type Binding } from '@riopool/native';

const pool = createPool();
const lease: Lease = pool.acquire(512);
const buf: RioBuf = lease.rioBuf;
const id: number = buf.bufferId;
const bytes: Buffer = lease.bytes;
const where: string | undefined = loadedBindingPath();
const pageSize: Binding['pageSize'] | undefined = undefined;
lease.release();
await pool.close();
export { id, bytes, where, pageSize };
