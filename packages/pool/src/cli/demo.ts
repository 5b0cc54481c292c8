/**
 * A short demo of the native core: map one slab, register it with the best backend here, print
 * the RioBuf of its first 512-byte slot and the memory the kernel pinned or locked for it.
 * Run with `pnpm demo`; RIOPOOL_BACKEND=uring|lock|none overrides the backend.
 */
import { loadBinding, type BackendKind } from '@riopool/native';

const native = loadBinding();
const info = native.info();
const kind = (process.env.RIOPOOL_BACKEND as BackendKind | undefined) ?? info.backends[0]!;
const SLAB = 64 * 1024;

const before = native.memoryStatus();
const slab = native.map(SLAB);
const backend = new native.Backend(kind);
const bufferId = backend.register(slab);
const after = native.memoryStatus();

const KiB = (n: number | null) => (n === null ? 'unknown' : `${n / 1024} KiB`);
const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
console.log(`page size        ${info.pageSize} B; backends here: ${info.backends.join(', ')}`);
console.log(`slab             ${SLAB / 1024} KiB mapped, registered with '${backend.kind}'`);
console.log(`first slot       RioBuf ${JSON.stringify({ bufferId, offset: 0, length: 512 })}`);
console.log(`kernel pinned    ${KiB(delta(before.pinned, after.pinned))} (VmPin delta)`);
console.log(`kernel locked    ${KiB(delta(before.locked, after.locked))} (VmLck delta)`);
console.log(`slots of 512 B   ${SLAB / 512}, one registration for all of them`);

backend.deregister(bufferId);
backend.close();
native.unmap(slab);
console.log(`after teardown   pinned ${KiB(native.memoryStatus().pinned)}, locked ${KiB(native.memoryStatus().locked)}`);
