/**
 * Slab: one page-aligned mapping, registered once, cut into equal slots of one class.
 * SlabClass: the slabs of one size class and the stack of those with a free slot.
 *
 * A slab's life: active -> retiring -> deregistered -> unmapped. It may leave `active` only
 * when no slot is leased (DESIGN.md rule 2); the pool checks this before it retires a slab.
 *
 * One Int32Array, `slots`, records both who holds a slot and which slots are free: a leased
 * slot's entry is its requested length (>= 1); a free slot's entry is ~next (<= 0), where next
 * is the following slot of the free list, or -1 at its end. Taking and freeing a slot touch one
 * entry, and a release can tell a free slot from a leased one by its sign.
 *
 * Invariants (checked by SlabPool.checkInvariants):
 *   the free list from freeHead visits every slot with an entry <= 0, each once
 *   exactly `leased` entries are >= 1, and none is above slotSize
 *   slot i covers [i * slotSize, (i + 1) * slotSize), inside [0, slabBytes)
 *   availIndex >= 0  <=>  freeHead >= 0  <=>  the slab is in its class's `available` stack
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
  /** Per slot: the requested length (>= 1) if leased, ~next (<= 0) if free. */
  readonly slots: Int32Array;
  /** The first free slot, or -1 when every slot is leased. */
  freeHead = 0;
  /** Slots leased now. */
  leased = 0;
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
    this.slots = new Int32Array(n);
    // Slot i links to slot i + 1 and the last to none (~-1 = 0), so a fresh slab hands out its
    // slots in address order.
    for (let i = 0; i < n - 1; i++) this.slots[i] = ~(i + 1);
    this.view = new Uint8Array(buffer);
  }

  /** Leases the first free slot for `length` (>= 1) bytes. Pre: freeHead >= 0. */
  takeSlot(length: number): number {
    const slot = this.freeHead;
    this.freeHead = ~this.slots[slot]!;
    this.slots[slot] = length;
    this.leased++;
    return slot;
  }

  /** Frees a leased slot; it becomes the head of the free list. Pre: the slot is leased. */
  freeSlot(slot: number): void {
    this.slots[slot] = ~this.freeHead;
    this.freeHead = slot;
    this.leased--;
  }
}

/** The slabs of one class, with counters for stats. */
export class SlabClass implements SizeClass {
  /** Slabs with at least one free slot; the top one serves the next acquire. */
  readonly available: Slab[] = [];
  /** The top of `available`, or undefined (a field: every acquire reads it). */
  top: Slab | undefined = undefined;
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

  readonly slotSize: number;
  readonly slabBytes: number;
  readonly slotsPerSlab: number;

  constructor(
    readonly index: number,
    slotSize: number,
    slabBytes: number,
    slotsPerSlab: number,
    /** True for a dedicated (one-slot, larger than the largest class) class. */
    readonly dedicated: boolean,
  ) {
    // Stored as small integers (all are below 2^31): Math.ceil and friends return doubles, and a
    // field that first holds a double stays a boxed double field, which would make the hot
    // path's offset = slot * slotSize a floating-point multiply.
    this.slotSize = slotSize | 0;
    this.slabBytes = slabBytes | 0;
    this.slotsPerSlab = slotsPerSlab | 0;
  }

  pushAvailable(slab: Slab): void {
    slab.availIndex = this.available.length;
    this.available.push(slab);
    this.top = slab;
  }

  /** Removes the top slab from `available` (it has just become full). */
  popAvailable(): void {
    this.available.pop()!.availIndex = -1;
    this.refreshTop();
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
    this.refreshTop();
  }

  private refreshTop(): void {
    const n = this.available.length;
    this.top = n > 0 ? this.available[n - 1] : undefined;
  }
}
