/**
 * Slab: one page-aligned mapping, registered once, cut into equal slots of one class.
 * SlabClass: the slabs of one size class and the stack of those with a free slot.
 *
 * A slab's life: active -> retiring -> deregistered -> unmapped. It may leave `active` only
 * when no slot is leased (docs/design.md, rule 2); the allocator checks this before it retires
 * a slab. A slab is registered (bufferId >= 0: its registration's buffer id) or, when the pool's
 * registration budget is spent, an overflow slab (bufferId = -1 - id: mapped, not registered).
 *
 * One Int32Array, `slots`, records both who holds a slot and which slots are free: a leased
 * slot's entry is its requested length (>= 1); a free slot's entry is ~next (<= 0), where next
 * is the following slot of the free list, or -1 at its end. Taking and freeing a slot touch one
 * entry, and a release can tell a free slot from a leased one by its sign.
 *
 * Invariants (checked by invariants.ts):
 *   the free list from freeHead visits every slot with an entry <= 0, each once
 *   exactly `leased` entries are >= 1, and none is above slotSize
 *   slot i covers [offsetOf(i), offsetOf(i) + slotSize), inside [0, slabBytes)
 *   availIndex >= 0  <=>  freeHead >= 0  <=>  the slab is in its class's `available` stack
 */
import { RioError } from './errors';
import * as handles from './handle';
import { WINDOW } from './retirement';
import type { SizeClass } from './size-classes';
import { bytesView } from './view';

// Module constants, read once: an imported binding compiled to CommonJS is a property load from
// the other module's exports on every use, and freeSlot runs on every release.
const { MAX_GENERATION, firstGenerations } = handles;

export type SlabState = 'active' | 'retiring' | 'deregistered' | 'unmapped';

/** What a slab's leases release through: the allocator that owns the slab. */
export interface SlabOwner {
  /** Called by a lease at its last release. */
  releaseSlot(slab: Slab, slot: number): void;
  /** Called by a tracked pool's lease at its last release (`lease`: the object released). */
  releaseTracked(slab: Slab, slot: number, lease: object): void;
  /** Called when a slice of one of its leases is made (lease.slice). */
  sliced(slice: object, slab: Slab, slot: number): void;
  /** Called by a tracked pool's slice at its last release: the tracker hears of it, and the slice drops its reference on its parent. */
  releaseSlice(slice: object, parent: { release(): void }): void;
}

export class Slab {
  state: SlabState = 'active';
  /** Per slot: the requested length (>= 1) if leased, ~next (<= 0) if free. */
  readonly slots: Int32Array;
  /**
   * Per slot: its generation (1 .. MAX_GENERATION), which each release of a tracked lease moves
   * on (nextGeneration), so a slot handle (handle.ts: leak detection's and checked mode's name for
   * a lease) names the slot only while it is leased under the generation the handle was made with. Starts from the constructor's
   * `genBase`, the pool's key for this slab.
   */
  readonly gens: Int32Array;
  /** The first free slot, or -1 when every slot is leased. */
  freeHead = 0;
  /** Slots leased now. */
  leased = 0;
  /** Position in the class's `available` stack, or -1. */
  availIndex = -1;
  /** The allocator's decay tick at which the slab last became empty (allocator.ts, decay). */
  emptySince = 0;
  /** One view over the whole slab, for the low-level path (a Buffer: view.ts). */
  readonly view: Buffer;
  /**
   * Per slot, the last view a lease handed out, reused while the requested length repeats
   * (lease.bytes would otherwise make a view per read). Made on first use: a slab whose
   * leases never read `bytes` pays nothing. Cost: one array entry per slot plus one view per
   * slot read (docs/performance.md, section 1).
   */
  private views: (Buffer | undefined)[] | undefined = undefined;

  constructor(
    readonly owner: SlabOwner,
    /** Index in the allocator's slab table; part of every handle. */
    readonly id: number,
    readonly cls: SlabClass,
    readonly buffer: ArrayBuffer,
    readonly bufferId: number,
    /** Where this slab's generations start (the allocator's per-pool key, spread per slab). */
    genBase = 0,
  ) {
    const n = cls.slotsPerSlab;
    this.slots = new Int32Array(n);
    this.gens = new Int32Array(n);
    firstGenerations(this.gens, genBase);
    // Slot i links to slot i + 1 and the last to none (~-1 = 0), so a fresh slab hands out its
    // slots in address order.
    for (let i = 0; i < n - 1; i++) this.slots[i] = ~(i + 1);
    this.view = bytesView(buffer, 0, buffer.byteLength);
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

  /**
   * Moves a slot's generation on, so that a slot handle made before no longer names it. The
   * allocator calls it when a lease's slot is released with a tracker watching (the tracker is
   * what holds slot handles); a pool without one never reads generations, and its releases skip
   * this store.
   */
  nextGeneration(slot: number): void {
    const g = this.gens[slot]! + 1;
    this.gens[slot] = g > MAX_GENERATION ? 1 : g;
  }

  /** The first `length` bytes of a slot. Pre: the slot is leased for `length` bytes. */
  bytesOf(slot: number, length: number): Buffer {
    const views = this.views;
    const cached = views === undefined ? undefined : views[slot];
    if (cached !== undefined && cached.length === length) return cached;
    return this.newView(slot, length);
  }

  /** Bytes [start, start + length) of a slot, for a slice (a view of its own, not cached). */
  sliceOf(slot: number, start: number, length: number): Buffer {
    try {
      return bytesView(this.buffer, this.cls.offsetOf(slot) + start, length);
    } catch (e) {
      throw transferredAway(e);
    }
  }

  private newView(slot: number, length: number): Buffer {
    let view: Buffer;
    try {
      view = bytesView(this.buffer, this.cls.offsetOf(slot), length);
    } catch (e) {
      throw transferredAway(e);
    }
    // A detached slab (retired, or its buffer transferred away) makes no views worth keeping.
    if (view.length !== length) return view;
    if (this.views === undefined) this.views = new Array<Buffer | undefined>(this.cls.slotsPerSlab).fill(undefined);
    this.views[slot] = view;
    return view;
  }
}

/**
 * A live lease's view cannot be made only when its slab's ArrayBuffer was detached by someone
 * else: user code moved the memory out (ArrayBuffer.prototype.transfer, a transfer list). The
 * memory stays mapped for whoever holds it now (the native side never unmaps escaped memory).
 */
function transferredAway(cause: unknown): RioError {
  return new RioError(
    'ERR_RIO_INVALID_BUFFER',
    "lease.bytes: this lease's slab memory was transferred away (ArrayBuffer.prototype.transfer on a lease's buffer); the lease has no bytes, release it",
    { cause },
  );
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
  /**
   * Empty slabs this class keeps before a release that empties one looks at retirement (the
   * allocator's emptyLimitOf: emptySlabsMax, or 0 where one slab is over half the pool's bound
   * on empty bytes). One comparison on the release path.
   */
  emptyLimit = 0;

  readonly index: number;
  readonly slotSize: number;
  readonly slabBytes: number;
  readonly slotsPerSlab: number;

  constructor(
    figures: SizeClass,
    /** True for a dedicated (one-slot, larger than the largest class) class. */
    readonly dedicated: boolean,
  ) {
    this.index = figures.index;
    // Stored as small integers (all are below 2^31): Math.ceil and friends return doubles, and a
    // field that first holds a double stays a boxed double field, which would make the hot
    // path's offsetOf a floating-point multiply.
    this.slotSize = figures.slotSize | 0;
    this.slabBytes = figures.slabBytes | 0;
    this.slotsPerSlab = figures.slotsPerSlab | 0;
  }

  /**
   * The allocator's take() found an edge after taking a slot of `slab` (one call for all of them,
   * off the hot path's inlined code: see allocator.ts): the slab became full (it leaves
   * `available`); a new high of leases at once; every WINDOW acquires, this window's peak
   * becomes the last one's.
   */
  tookEdge(slab: Slab): void {
    if (slab.freeHead < 0) this.popAvailable();
    if (this.leased > this.windowPeak) {
      this.windowPeak = this.leased;
      if (this.leased > this.peak) this.peak = this.leased;
    }
    if (this.totalAcquired % WINDOW === 0) {
      this.lastWindowPeak = this.windowPeak;
      this.windowPeak = this.leased;
    }
  }

  /** Where slot `slot` starts in its slab (acquireInto writes the same product inline: its inlining budget). */
  offsetOf(slot: number): number {
    return slot * this.slotSize;
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
