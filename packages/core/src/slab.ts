/**
 * Slab: one page-aligned mapping, registered once, cut into equal slots of one class.
 * SlabClass: the slabs of one size class and the stack of those with a free slot.
 *
 * A slab's life: active -> retiring -> deregistered -> unmapped. It may leave `active` only
 * when no slot is leased (DESIGN.md rule 2); the pool checks this before it retires a slab.
 *
 * Invariants (checked by SlabPool.checkInvariants):
 *   freeTop + leased = slotsPerSlab
 *   lengths has exactly `leased` non-zero entries (a leased slot's requested length; 0 = free),
 *   and every slot in free[0 .. freeTop) has length 0
 *   slot i covers [i * slotSize, (i + 1) * slotSize), inside [0, slabBytes)
 *   availIndex >= 0  <=>  freeTop > 0  <=>  the slab is in its class's `available` stack
 */
import type { SizeClass } from './size-classes';
import type { LeaseOwner } from './lease';

export type SlabState = 'active' | 'retiring' | 'deregistered' | 'unmapped';

/** A handle names one slot: (slab id << 16) | slot. Slab ids stay below 1 << 15, so it is a small integer. */
export function handleOf(slabId: number, slot: number): number {
  return (slabId << 16) | slot;
}

export class Slab {
  state: SlabState = 'active';
  /** Stack of free slot indexes; free[0 .. freeTop) are free. */
  readonly free: Uint16Array;
  freeTop: number;
  /** Slots leased now. */
  leased = 0;
  /** The requested length of each leased slot; 0 for a free slot (lengths are >= 1). */
  readonly lengths: Uint32Array;
  /** Position in the class's `available` stack, or -1. */
  availIndex = -1;
  /** One view over the whole slab, for the low-level path. */
  readonly view: Uint8Array;

  constructor(
    /** The pool this slab belongs to (leases release through it). */
    readonly owner: LeaseOwner,
    /** Index in the pool's slab table; part of every handle. */
    readonly id: number,
    readonly cls: SlabClass,
    readonly buffer: ArrayBuffer,
    readonly bufferId: number,
  ) {
    const n = cls.slotsPerSlab;
    this.free = new Uint16Array(n);
    // Slot 0 on top, so a fresh slab hands out its slots in address order.
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.freeTop = n;
    this.lengths = new Uint32Array(n);
    this.view = new Uint8Array(buffer);
  }
}

/** The slabs of one class, with counters for stats. */
export class SlabClass implements SizeClass {
  /** Slabs with at least one free slot; the top one serves the next acquire. */
  readonly available: Slab[] = [];
  slabs = 0;
  emptySlabs = 0;
  leased = 0;
  peak = 0;
  totalAcquired = 0;
  registrations = 0;
  retirements = 0;
  /** Registrations that followed a retirement in this class: register/deregister cycles. */
  churn = 0;
  /** Most slots leased at once in the current window of WINDOW acquires, and in the last one. */
  windowPeak = 0;
  lastWindowPeak = 0;
  lastEventWasRetire = false;

  constructor(
    readonly index: number,
    readonly slotSize: number,
    readonly slabBytes: number,
    readonly slotsPerSlab: number,
    /** True for a dedicated (one-slot, larger than the largest class) class. */
    readonly dedicated: boolean,
  ) {}

  pushAvailable(slab: Slab): void {
    slab.availIndex = this.available.length;
    this.available.push(slab);
  }

  /** Removes a slab from `available` in O(1) (swap with the top). */
  removeAvailable(slab: Slab): void {
    const i = slab.availIndex;
    const last = this.available.pop()!;
    if (last !== slab) {
      this.available[i] = last;
      last.availIndex = i;
    }
    slab.availIndex = -1;
  }
}
