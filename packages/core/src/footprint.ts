/**
 * The footprint model: what registered memory a workload should cost, before measuring it.
 *
 * Per-buffer strategy: the buffers lie back to back, 16-byte aligned, in page-aligned memory
 * (as a general-purpose allocator would place them), and each is registered on its own. By the
 * backend's Pinning (registrar.ts):
 *   per-registration  every page a registration touches, per registration (io_uring; RIO, whose
 *                     per-registration overhead the model does not count):
 *                     pinned = sum over buffers of (pages the buffer spans) * page
 *   per-page          each page once, however many registrations share it (mlock):
 *                     locked = (pages the whole run spans) * page
 *   none              nothing is locked
 *
 * Slab strategy: each request takes a slot of its class; a class needs ceil(count / slots)
 * slabs; a request above the largest class takes a dedicated slab of whole pages; one
 * registration per slab; a locking backend pins or locks every mapped byte.
 */
import type { Pinning } from './registrar';
import { type SizeClassTable, GRANULE } from './size-classes';

export interface FootprintFigures {
  registrations: number;
  requestedBytes: number;
  /** After class rounding (slab) or alignment (per-buffer). */
  reservedBytes: number;
  mappedBytes: number;
  /**
   * Bytes the model predicts the strategy holds in memory the kernel will not page out: pinned
   * (uring, rio) or locked (lock), by the backend's Pinning; 0 for `none`. (Not VmLck alone: the
   * report's measured `lockedBytes` is that.)
   */
  heldBytes: number;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Where the per-buffer layout puts the buffer after one of n bytes at `offset`. */
export function nextPackedOffset(offset: number, n: number): number {
  return alignUp(offset + n, GRANULE);
}

export function modelPerBuffer(lengths: readonly number[], pageSize: number, pinning: Pinning): FootprintFigures {
  let offset = 0;
  let requested = 0;
  let spannedPages = 0;
  for (const n of lengths) {
    requested += n;
    spannedPages += Math.floor((offset + n - 1) / pageSize) - Math.floor(offset / pageSize) + 1;
    offset = nextPackedOffset(offset, n);
  }
  const mapped = alignUp(offset, pageSize);
  const locked = pinning === 'none' ? 0 : pinning === 'per-registration' ? spannedPages * pageSize : mapped;
  return { registrations: lengths.length, requestedBytes: requested, reservedBytes: offset, mappedBytes: mapped, heldBytes: locked };
}

export function modelSlabs(lengths: readonly number[], table: SizeClassTable, pinning: Pinning): FootprintFigures {
  const counts = new Map<number, number>();
  let requested = 0;
  let reserved = 0;
  let registrations = 0;
  let mapped = 0;
  for (const n of lengths) {
    requested += n;
    if (n <= table.largestClass) {
      const c = table.classFor(n);
      counts.set(c.index, (counts.get(c.index) ?? 0) + 1);
      reserved += c.slotSize;
    } else {
      const bytes = table.dedicatedBytes(n);
      reserved += bytes;
      mapped += bytes;
      registrations++;
    }
  }
  for (const [i, count] of counts) {
    const c = table.classes[i]!;
    const slabs = Math.ceil(count / c.slotsPerSlab);
    registrations += slabs;
    mapped += slabs * c.slabBytes;
  }
  return {
    registrations,
    requestedBytes: requested,
    reservedBytes: reserved,
    mappedBytes: mapped,
    heldBytes: pinning === 'none' ? 0 : mapped,
  };
}
