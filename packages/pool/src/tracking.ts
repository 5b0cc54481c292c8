/**
 * The safety nets: leak detection and checked mode, as an allocator that watches its leases.
 *
 * Leak detection (`leakDetection: true`, and always in checked mode): every lease is registered
 * with a FinalizationRegistry. A lease collected without its last release is reported
 * (`onReport`, by default a process warning) and its slot is reclaimed. The held value is the
 * lease's handle, a number, so nothing keeps the lease alive. In checked mode the report also
 * carries the allocation stack. It is off by default because registering costs more than the
 * allocation it guards (docs/performance.md, section 1: the leakDetection row). The handle carries
 * the slot's generation (core's handle.ts), so a reclaim never frees a slot leased again since.
 *
 * Checked mode (off by default; for tests and debugging): released slots are filled with a
 * poison byte (0xdb); when a poisoned slot is handed out again, or on checkPoison(), a slot
 * whose poison was overwritten is reported as a write after release, with the stack of the
 * release that preceded it.
 *
 * Neither adds a native call to acquire or release. A pool without either has no tracker, and
 * its hot path pays one field test for this file.
 */
import { leaseSlot, slotKey, type Lease, type LeaseTracker, type Slab, type Allocator } from '@riopool/core';
import { emitRiopoolWarning } from './warnings';

export const POISON = 0xdb;

export interface PoolReport {
  kind: 'leak' | 'write-after-release';
  message: string;
  bufferId: number;
  offset: number;
  length: number;
  /** Where the lease was acquired (leaks, checked mode only). */
  acquiredAt?: string;
  /** Where the slot was released before it was written (writes after release). */
  releasedAt?: string;
}

export interface TrackingOptions {
  checked: boolean;
  leakDetection: boolean;
  onReport: (report: PoolReport) => void;
}

function stackHere(): string {
  return (new Error().stack ?? '').split('\n').slice(3).join('\n');
}

/** What a collected lease leaves the registry: its slot's handle (a slice: its parent to release). */
type Held = number | { handle: number; stack: string } | { parent: Lease; stack?: string };

export class Tracker implements LeaseTracker {
  leaksReclaimed = 0;
  writesAfterRelease = 0;
  /** The allocator this tracker watches (set once, right after the allocator is made). */
  pool!: Allocator;
  private readonly checked: boolean;
  private readonly report: (r: PoolReport) => void;
  private readonly leaks: FinalizationRegistry<Held> | undefined;
  /** Checked mode: poisoned slots by slot key (slab id and slot, core's slotKey), with the stack of their release. */
  private readonly poisoned = new Map<number, string>();
  /** Checked mode: leased slots by handle, with the stack of their acquisition (close()'s report). */
  private readonly stacks = new Map<number, string>();

  constructor(tracking: TrackingOptions) {
    this.checked = tracking.checked;
    this.report = tracking.onReport;
    this.leaks = tracking.leakDetection ? new FinalizationRegistry<Held>((held) => this.reclaim(held)) : undefined;
  }

  acquired(lease: Lease, slab: Slab, slot: number): void {
    const handle = this.pool.handleOfSlot(slab, slot);
    if (this.checked) {
      const size = slab.cls.slotSize;
      this.verifyPoison(slotKey(slab.id, slot), slab.view, slab.cls.offsetOf(slot), size, slab.bufferId);
      const stack = stackHere();
      this.stacks.set(handle, stack);
      this.leaks?.register(lease, { handle, stack }, lease);
    } else {
      this.leaks?.register(lease, handle, lease);
    }
  }

  sliced(slice: Lease): void {
    if (this.leaks === undefined) return;
    // The slice holds one reference on its parent: a slice collected without release gives it back.
    const parent = parentOf(slice);
    this.leaks.register(slice, this.checked ? { parent, stack: stackHere() } : { parent }, slice);
  }

  slicedReleased(slice: object): void {
    this.leaks?.unregister(slice);
  }

  released(lease: object, slab: Slab, slot: number): void {
    this.leaks?.unregister(lease);
    if (this.checked) {
      const offset = slab.cls.offsetOf(slot);
      const handle = this.pool.handleOfSlot(slab, slot); // the lease's handle: its generation moves on after this call
      slab.view.fill(POISON, offset, offset + slab.cls.slotSize);
      this.poisoned.set(slotKey(slab.id, slot), stackHere());
      this.stacks.delete(handle);
    }
  }

  /** Checked mode: where the lease of a leased slot was acquired (undefined otherwise). */
  acquiredAt(handle: number): string | undefined {
    return this.stacks.get(handle);
  }

  /** Checked mode: verifies every released slot still holds its poison; returns the reports. */
  checkPoison(): PoolReport[] {
    const found: PoolReport[] = [];
    for (const key of [...this.poisoned.keys()]) {
      const slab = this.pool.slabs[key >>> 16];
      const slot = key & 0xffff;
      if (slab === undefined || slot >= slab.cls.slotsPerSlab) {
        this.poisoned.delete(key); // its slab was retired
        continue;
      }
      const r = this.verifyPoison(key, slab.view, slab.cls.offsetOf(slot), slab.cls.slotSize, slab.bufferId, false);
      if (r !== undefined) found.push(r);
    }
    return found;
  }

  private verifyPoison(
    key: number,
    view: Uint8Array,
    offset: number,
    size: number,
    bufferId: number,
    consume = true,
  ): PoolReport | undefined {
    const releasedAt = this.poisoned.get(key);
    if (releasedAt === undefined) return undefined;
    if (consume) this.poisoned.delete(key);
    if (view.length === 0) return undefined; // the slab is gone; nothing to read
    for (let i = offset; i < offset + size; i++) {
      if (view[i] !== POISON) {
        this.poisoned.delete(key); // report each write once
        this.writesAfterRelease++;
        const report: PoolReport = {
          kind: 'write-after-release',
          message: `riopool: a released slot was written after its release (buffer ${bufferId}, offset ${offset}, byte ${i - offset})`,
          bufferId,
          offset,
          length: size,
          releasedAt,
        };
        this.report(report);
        return report;
      }
    }
    return undefined;
  }

  private reclaim(held: Held): void {
    if (typeof held === 'object' && 'parent' in held) {
      this.reclaimSlice(held.parent, held.stack);
      return;
    }
    const handle = typeof held === 'number' ? held : held.handle;
    const out = { bufferId: 0, offset: 0, length: 0 };
    if (this.pool.describeSlotHandle(handle, out) === undefined || out.length === 0) return; // already reclaimed, or gone
    try {
      this.pool.releaseSlotHandle(handle);
    } catch {
      return;
    }
    this.stacks.delete(handle);
    this.leaksReclaimed++;
    const { bufferId, offset, length } = out;
    this.reportLate({
      kind: 'leak',
      message: `riopool: a lease was collected without release (buffer ${bufferId}, offset ${offset}, length ${length}); its slot was reclaimed`,
      bufferId,
      offset,
      length,
      ...(typeof held === 'number' ? {} : { acquiredAt: held.stack }),
    });
  }

  /**
   * A report from a finalizer (after an asynchronous boundary): an onReport that throws there
   * must not throw into the event loop, so what it threw becomes a process warning.
   */
  private reportLate(report: PoolReport): void {
    try {
      this.report(report);
    } catch (e) {
      emitRiopoolWarning(
        'RIOPOOL_ON_REPORT_THREW',
        `riopool: onReport threw while reporting a ${report.kind}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  /** A slice was collected without release: its reference on its parent goes back. */
  private reclaimSlice(parent: Lease, acquiredAt: string | undefined): void {
    if (parent.released) return;
    const { bufferId, offset, length } = parent.rioBuf;
    parent.release();
    this.leaksReclaimed++;
    this.reportLate({
      kind: 'leak',
      message: `riopool: a slice was collected without release (buffer ${bufferId}, offset ${offset}, length ${length}); its reference was given back`,
      bufferId,
      offset,
      length,
      ...(acquiredAt === undefined ? {} : { acquiredAt }),
    });
  }
}

/** A slice's parent, through the core's private accessor (parentOf is only asked of live slices). */
function parentOf(slice: Lease): Lease {
  return leaseSlot(slice)!.parent!;
}
