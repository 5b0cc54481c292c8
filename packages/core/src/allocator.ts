/**
 * Allocator: the slab allocator. All of riopool's allocation policy is here and in the files it
 * imports; memory comes from a Registrar.
 *
 * Notation
 *   class c      a SlabClass: slot size s_c, slab size b_c, n_c slots per slab
 *   slab         b_c bytes, one registration (or none: an overflow slab), n_c slots
 *   handle       tag << 20 | entry: the low-level path's name for one leased slot, from the
 *                handle table (handle-table.ts); a slot handle (handle.ts) is the tracker's
 *   tick         one step of decay (the pool package calls decay() about once a second)
 *
 * acquire(n)
 *   1. validate n (an integer, 1 .. maxLength) and that the pool is open
 *   2. c = the class of n (one table load), or the dedicated class of ceil(n / page) pages
 *   3. slab = the top of c's `available` stack, or a new slab: map -> register (native calls,
 *      only here and in retire); past the registration budget, or when the OS refuses to
 *      register, an overflow slab (mapped, not registered) instead
 *   4. take the head of the slab's free list; if the slab is now full, pop it off `available`
 *   5. wrap it in a Lease (acquire) or write its RioBuf into the caller's object (acquireInto)
 * release (lease.release() at zero references, or releaseHandle)
 *   1. put the slot back at the head of the free list; if the slab was full, push it onto
 *      `available`
 *   2. if the slab is now empty: the class's band (more than `emptySlabsMax` empty slabs: retire
 *      beyond the recent peak, retirement.ts) keeps a swinging load from registering and
 *      deregistering on every call; past the pool's bound (`emptyBytesMax`), a slab that alone
 *      is more than half of it goes at once
 *   3. if the pool is closing: a slab that emptied is retired at once, and with nothing leased the
 *      close finishes
 * decay()          each tick: retire the slabs of every class that have been empty for a whole
 *                  tick, so empty slabs go whether or not their class sees more traffic; then,
 *                  over `emptyBytesMax` bytes of empty slabs, the longest empty, down to half
 *                  (decay.ts)
 * retire(slab)     only with no slot leased: deregister (a registered slab) -> unmap (which
 *                  detaches every view) (slab-life.ts)
 * trim()           retire every empty slab now
 * close()          refuse new acquires and retire every empty slab; each other slab goes with its
 *                  last lease, and the registrar once every slab is gone
 * abandonOutstanding()  settle close() now; slabs with leases still go only with their last lease
 *
 * Both acquire and release are O(1) and make no native call in steady state. The invariants
 * are written out, and checked, in invariants.ts; the counters become stats in stats.ts.
 *
 * This class holds the state that acquire, release, grow and retire all change (free lists,
 * class stacks, slab table, counters) and the hot path. Each concept that can stand alone has a
 * file: options.ts, size-classes.ts, slab.ts, lease.ts, handle.ts and handle-table.ts,
 * slab-life.ts (grow, retire), retirement.ts (which slabs go), decay.ts (a tick), close.ts,
 * outstanding.ts.
 */
import { RioError, invalidLength, notAHandle, notAnOut, outNotWritable, poolClosed } from './errors';
import * as handles from './handle';
import { abandonOutstanding, close, closingRelease } from './close';
import { decayTick } from './decay';
import { HandleTable } from './handle-table';
import { describeHandle, describeSlotHandle, leasedSlotOf, outstandingSlots } from './outstanding';
import { shown } from './schema';
import type { RioBufOut } from './handle';
import * as leases from './lease';
import { resolveOptions, type AllocatorOptions } from './options';
import type { Registrar } from './registrar';
import { WINDOW, emptiestFirst, slabsToRetire } from './retirement';
import type { Lease, LeaseTracker } from './lease';
import { SizeClassTable } from './size-classes';
import { type Slab, SlabClass, type SlabOwner } from './slab';
import { grow, retire, type OverflowEvent } from './slab-life';
import { allocatorStats, type AllocatorStats } from './stats';

// What the hot path uses from other modules, read once into module constants: compiled to
// CommonJS, an imported name is a property load from the other module's exports object on every
// call (docs/performance.md, section 1, "What the hot path pays for").
const { MAX_SLOTS_PER_SLAB, SLOT_BITS, handleOf } = handles;
const SLOT_MASK = MAX_SLOTS_PER_SLAB - 1;
const { LeaseOfSlot, TrackedLeaseOfSlot } = leases;
// The hot path's literals (see the note above take) must match the constants they stand for.
if (SLOT_BITS !== 16 || SLOT_MASK !== 0xffff || WINDOW !== 4096)
  throw new Error('riopool: the allocator literals disagree with handle.ts / retirement.ts');

/**
 * acquireInto's two rare cases, before anything is taken: an `out` that is no object, and a
 * handle table with no free entry (reserve may throw ERR_RIO_POOL_EXHAUSTED).
 */
function prepareInto(handles: HandleTable, out: unknown): void {
  if (typeof out !== 'object' || out === null) throw notAnOut();
  handles.reserve();
}

function notABufferId(bufferId: unknown): RioError {
  return new RioError('ERR_RIO_INVALID_BUFFER', `view: ${shown(bufferId)} is not a buffer id of this pool`);
}

export class Allocator implements SlabOwner {
  readonly registrar: Registrar;
  /** The tracker of the safety nets, or undefined (the default: nothing to call). */
  readonly tracker: LeaseTracker | undefined;
  readonly table: SizeClassTable<SlabClass>;
  readonly maxLength: number;
  readonly maxBytes: number;
  readonly emptySlabsKept: number;
  readonly emptySlabsMax: number;
  readonly emptyBytesMax: number;
  readonly overflow: boolean;
  /** Dedicated classes (one slot of whole pages) by slab size; a class without slabs goes at decay. */
  readonly dedicated = new Map<number, SlabClass>();
  /** Live slabs by id (ids are reused), and registered ones by buffer id. */
  readonly slabs: (Slab | undefined)[] = [];
  readonly byBufferId: (Slab | undefined)[] = [];
  /** Called once, at the first overflow slab (the pool package warns). */
  onOverflow: ((event: OverflowEvent) => void) | undefined = undefined;
  /** Where the registration budget comes from and how to raise it, for the ERR_RIO_MEMLOCK of `overflow: false` (set by the pool). */
  budgetAdvice = '';

  liveSlabs = 0;
  /** Live slabs that are registered (the others are overflow slabs). */
  registeredSlabs = 0;
  mappedBytes = 0;
  registeredBytes = 0;
  peakMappedBytes = 0;
  totalRegistrations = 0;
  retirements = 0;
  trims = 0;
  /** Decay ticks so far. */
  ticks = 0;
  /** Slabs retired by decay, and by the pool-wide bound on empty bytes. */
  decayed = 0;
  boundRetirements = 0;
  /** The registration budget: maxRegisteredBytes, lowered to what the OS took when it refused. */
  registeredBudget: number;
  closing = false;
  closed = false;

  private readonly largest: number;
  /** Ids of retired slabs, for reuse (slab-life.ts). */
  readonly freeSlabIds: number[] = [];
  /** The dedicated class used last: a run of same-size large requests skips the Map lookup. */
  private lastDedicated: SlabClass | undefined = undefined;
  /** The slot the last take() popped (saves returning a pair). */
  private takenSlot = 0;
  /** maxLength while open, 0 once closing (close.ts): take() checks both with one comparison. */
  openMaxLength: number;
  /** True once an overflow slab was made (slab-life.ts: onOverflow is called once). */
  overflowed = false;
  /** The state behind slab-life.ts's generation bases: random per pool. */
  generationKey = (Math.random() * 0x100000000) >>> 0;
  /** The low-level path's handles (handle-table.ts). */
  private readonly handles = new HandleTable();
  /** close()'s promise and its settling (close.ts). */
  closePromise: Promise<void> | undefined = undefined;
  settleClose: ((error?: unknown) => void) | undefined = undefined;

  constructor(registrar: Registrar, options: AllocatorOptions = {}, tracker?: LeaseTracker) {
    this.registrar = registrar;
    this.tracker = tracker;
    const o = resolveOptions(options, registrar.pageSize, registrar.maxRegistrationBytes);
    this.maxBytes = o.maxBytes;
    this.emptySlabsKept = o.emptySlabsKept;
    this.emptySlabsMax = o.emptySlabsMax;
    this.emptyBytesMax = o.emptyBytesMax;
    this.registeredBudget = o.maxRegisteredBytes;
    this.overflow = o.overflow;
    const figures = { pageSize: registrar.pageSize, largestClass: o.largestClass, slabBytes: o.slabBytes };
    this.table = new SizeClassTable(figures, (f) => new SlabClass(f, false));
    for (const cls of this.table.classes) cls.emptyLimit = this.emptyLimitOf(cls);
    this.largest = this.table.largestClass;
    // The largest request: what one registration may hold (the backend's limit), within maxBytes.
    this.maxLength = Math.min(registrar.maxRegistrationBytes, this.maxBytes);
    this.openMaxLength = this.maxLength;
  }

  // ---------------------------------------------------------------------------------------
  // Hot path

  /** Leases a slot of at least `length` bytes (a tracked lease when the pool has a tracker). */
  acquire(length: number): Lease {
    return this.tracker === undefined ? this.acquireUntracked(length) : this.acquireTracked(length);
  }

  // A pool with a tracker and one without run different functions from the pool's acquire on
  // (the pool package calls one or the other; so do leases' releases: TrackedLeaseOfSlot), so
  // that no function of the untracked path carries the tracker's calls in its type feedback,
  // which V8 would inline into every caller and run out of its budget (docs/performance.md, 1c).

  /** acquire() of a pool without a tracker. */
  acquireUntracked(length: number): Lease {
    const slab = this.take(length);
    return new LeaseOfSlot(slab, this.takenSlot, length);
  }

  /** acquire() of a pool with a tracker; if the tracker throws (a user's onReport did), the slot goes back first. */
  acquireTracked(length: number): Lease {
    const slab = this.take(length);
    const slot = this.takenSlot;
    const lease = new TrackedLeaseOfSlot(slab, slot, length);
    try {
      this.tracker!.acquired(lease, slab, slot);
    } catch (e) {
      lease.release();
      throw e;
    }
    return lease;
  }

  /**
   * The low-level path: writes the slot's RioBuf into `out` and returns its handle, allocating
   * nothing. Release with releaseHandle(handle); reach the bytes with view(out.bufferId).
   * A handle has no reference count; it names its slot only until released (handle.ts: a
   * stale, foreign or forged handle is refused and frees nothing: handle-table.ts).
   */
  acquireInto(length: number, out: RioBufOut): number {
    const handles = this.handles;
    // One test for the two rare cases before the take (either may throw, and nothing is taken yet).
    if (typeof out !== 'object' || out === null || handles.freeHead < 0) prepareInto(handles, out);
    const slab = this.take(length);
    const slot = this.takenSlot; // read before the writes: a setter of `out` may call back into the pool
    try {
      out.bufferId = slab.bufferId;
      out.offset = slot * slab.cls.slotSize;
      out.length = length;
    } catch (e) {
      throw this.giveBack(slab, slot, e);
    }
    return handles.issue((slab.id << 16) | slot); // 16: SLOT_BITS (a literal: see the note above take)
  }

  releaseHandle(handle: number): void {
    // A live entry names a leased slot (an entry is freed before its slot is); redeem throws for any other value.
    const location = this.handles.redeem(handle);
    this.releaseSlot(this.slabs[location >>> 16]!, location & 0xffff); // 16, 0xffff: SLOT_BITS, SLOT_MASK
  }

  /** acquireInto's `out` refused a write (frozen, sealed, a setter that throws): the slot goes back before the error. */
  private giveBack(slab: Slab, slot: number, cause: unknown): RioError {
    this.releaseSlot(slab, slot);
    return outNotWritable(cause);
  }

  /**
   * Leak detection's reclaim of a Lease collected without release: the slot handle (handle.ts,
   * a double: off the hot path) names the slot and its generation, so a slot released and
   * leased again since is not freed. Throws like releaseHandle.
   */
  releaseSlotHandle(handle: number): void {
    const at = leasedSlotOf(this, handle);
    if (at === undefined) throw notAHandle('releaseHandle', handle);
    at.slab.nextGeneration(at.slot);
    this.releaseSlot(at.slab, at.slot);
  }

  /** The whole slab behind a buffer id (an overflow slab's is negative), for the low-level path. */
  view(bufferId: number): Buffer {
    // byBufferId holds registered slabs only, each at its own buffer id; typeof first, so that
    // `>=` calls no valueOf and a string never indexes the table.
    if (typeof bufferId === 'number' && bufferId >= 0) {
      const slab = this.byBufferId[bufferId];
      if (slab !== undefined) return slab.view;
    }
    return this.overflowView(bufferId);
  }

  /** view() of an overflow slab (buffer id -1 - slab id), or the error for a value that is no buffer id. */
  private overflowView(bufferId: unknown): Buffer {
    const slab = typeof bufferId === 'number' && bufferId < 0 ? this.slabs[-1 - bufferId] : undefined;
    if (slab === undefined || slab.bufferId !== bufferId) throw notABufferId(bufferId);
    return slab.view;
  }

  /**
   * A tracked lease's last release: the tracker hears of it, and the slot's generation moves on
   * (the tracker holds slot handles), before the slot goes back.
   */
  releaseTracked(slab: Slab, slot: number, lease: object): void {
    this.tracker!.released(lease, slab, slot);
    slab.nextGeneration(slot);
    this.releaseSlot(slab, slot);
  }

  /** Called by lease.slice(): the slice holds a reference on its parent already. */
  sliced(slice: object, slab: Slab, slot: number): void {
    if (this.tracker !== undefined) this.tracker.sliced(slice as Lease, slab, slot);
  }

  /** Called by a tracked pool's slice at its last release (an untracked slice releases its parent itself). */
  releaseSlice(slice: object, parent: { release(): void }): void {
    this.tracker!.slicedReleased(slice); // only tracked slices come here (TrackedLease.release)
    parent.release();
  }

  // take and releaseSlot run on every acquire and release: their bytecode is kept small so that
  // V8 inlines the whole pair into a caller's loop (its inlining budget is about 920 bytes of
  // bytecode per function). What runs rarely is in a method of its own. The hot path writes
  // SLOT_BITS and WINDOW - 1 as literals: a module constant costs a hole check at each use, a
  // literal below 2^15 none (larger ones take more bytecode than the constant); a check at the top
  // of this file holds the literals to the constants.

  private take(length: number): Slab {
    // An int32 (`| 0` changes anything else; typeof first, so no valueOf runs) from 1 to
    // openMaxLength: as unsigned, length - 1 is below openMaxLength (0 and negatives wrap high).
    if (typeof length !== 'number' || (length | 0) !== length || (length - 1) >>> 0 >= this.openMaxLength) {
      throw this.cannotTake(length);
    }
    const cls = length <= this.largest ? this.table.classFor(length) : this.dedicatedClass(length);
    let slab = cls.top;
    if (slab === undefined) slab = this.grow(cls);
    this.takenSlot = slab.takeSlot(length);
    if (slab.leased === 1) cls.emptySlabs--; // it was empty (every pair, when one slot is leased at a time)
    const leased = ++cls.leased;
    const acquired = ++cls.totalAcquired;
    // The rare edges, behind one test (cls.tookEdge sorts them out): the slab is now full, a new
    // peak of leases, the end of a window of WINDOW acquires.
    if (slab.freeHead < 0 || leased > cls.windowPeak || (acquired & 4095) === 0) cls.tookEdge(slab); // 4095: WINDOW - 1
    return slab;
  }

  /** Why take() refused a length: a bad length, or a pool that is closing (openMaxLength 0). */
  private cannotTake(length: unknown): RioError {
    const valid = typeof length === 'number' && Number.isInteger(length) && length >= 1 && length <= this.maxLength;
    return valid && this.closing ? poolClosed() : invalidLength(length, this.maxLength);
  }

  /**
   * Gives a leased slot back: at a lease's last release or a handle's (a tracked lease's comes
   * through releaseTracked). A slab that empties past its class's emptyLimit (or in a closing
   * pool, where every limit is -1) goes to tooManyEmpty.
   */
  releaseSlot(slab: Slab, slot: number): void {
    const cls = slab.cls;
    if (slab.freeHead < 0) cls.pushAvailable(slab); // it was full
    slab.freeSlot(slot);
    cls.leased--;
    if (slab.leased === 0) {
      slab.emptySince = this.ticks;
      if (++cls.emptySlabs > cls.emptyLimit) this.tooManyEmpty(slab, cls);
    }
  }

  /**
   * The most empty slabs a class keeps before a release looks at retiring some: emptySlabsMax,
   * or 0 for a class whose slab alone is more than half the pool's bound on empty bytes (each of
   * its releases to empty checks the bound).
   */
  private emptyLimitOf(cls: SlabClass): number {
    return cls.slabBytes > this.emptyBytesMax / 2 ? 0 : this.emptySlabsMax;
  }

  /**
   * A release emptied a slab and its class holds more than its emptyLimit empty slabs: the
   * class's band (more than emptySlabsMax empty: retire beyond the recent peak), then the pool's
   * bound: over it, a slab that alone is more than half of it goes at once; the rest of the bound
   * is kept at the next decay tick, so a load that swings within a tick keeps its slabs.
   */
  private tooManyEmpty(slab: Slab, cls: SlabClass): void {
    if (this.closing) {
      closingRelease(this, slab);
      return;
    }
    if (cls.emptySlabs > this.emptySlabsMax) {
      this.retireEmpty(cls, cls.emptySlabs - slabsToRetire(cls, this.emptySlabsKept, this.emptySlabsMax));
    }
    // A slab over the whole bound is over it with no sum (the sum is over every class).
    const over = cls.slabBytes > this.emptyBytesMax || this.emptyBytes > this.emptyBytesMax;
    if (slab.state === 'active' && cls.slabBytes > this.emptyBytesMax / 2 && over) {
      this.retire(slab);
      this.boundRetirements++;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Slab life

  private dedicatedClass(length: number): SlabClass {
    const bytes = this.table.dedicatedBytes(length);
    if (this.lastDedicated !== undefined && this.lastDedicated.slotSize === bytes) return this.lastDedicated;
    let cls = this.dedicated.get(bytes);
    if (cls === undefined) {
      cls = new SlabClass({ index: -1, slotSize: bytes, slabBytes: bytes, slotsPerSlab: 1 }, true);
      cls.emptyLimit = this.emptyLimitOf(cls);
      this.dedicated.set(bytes, cls);
    }
    this.lastDedicated = cls;
    return cls;
  }

  /** A new slab for `cls` (slab-life.ts). Called by take() when the class has no slot free. */
  private grow(cls: SlabClass): Slab {
    return grow(this, cls);
  }

  /** Deregisters and unmaps an empty slab (slab-life.ts). */
  private retire(slab: Slab): void {
    retire(this, slab);
  }

  /** Retires empty slabs of a class, overflow slabs and the oldest first, until `keep` remain (retirement.ts). */
  private retireEmpty(cls: SlabClass, keep: number): number {
    const chosen = emptiestFirst(cls.available, cls.emptySlabs - keep);
    for (const slab of chosen) this.retire(slab);
    return chosen.length;
  }

  /** Retires every empty slab of a class now (close.ts); returns how many. */
  trimClass(cls: SlabClass): number {
    return this.retireEmpty(cls, 0);
  }

  /** Retires every empty slab now; returns how many. */
  trim(): number {
    this.trims++;
    let retired = 0;
    for (const cls of this.allClasses()) retired += this.trimClass(cls);
    return retired;
  }

  /**
   * One tick of decay (decay.ts: what stayed empty since the tick before, and past the bound on
   * empty bytes), then dedicated classes with nothing left are forgotten. Returns how many slabs went.
   */
  decay(): number {
    if (this.closed) return 0;
    const retired = decayTick(this);
    for (const [bytes, cls] of this.dedicated) {
      if (cls.slabs === 0 && cls.leased === 0) {
        this.dedicated.delete(bytes);
        if (this.lastDedicated === cls) this.lastDedicated = undefined;
      }
    }
    return retired;
  }

  /**
   * Refuses new acquires at once; resolves when every lease is released and every slab is
   * deregistered and unmapped (close.ts). Views handed out read as length 0 afterwards.
   */
  close(): Promise<void> {
    return close(this);
  }

  /** Settles close() now; each slab with leases goes with its last lease (close.ts). */
  abandonOutstanding(): void {
    abandonOutstanding(this);
  }

  /** Every leased slot, at most `limit` (outstanding.ts). */
  outstandingSlots(limit = Infinity): { handle: number; bufferId: number; offset: number; length: number }[] {
    return outstandingSlots(this, limit);
  }

  // ---------------------------------------------------------------------------------------
  // Introspection (off the hot path)

  /** Every class: the shared ones, then the dedicated ones. */
  *allClasses(): Iterable<SlabClass> {
    yield* this.table.classes;
    yield* this.dedicated.values();
  }

  /** Bytes of live slabs with no slot leased (summed over classes: kept off the hot path). */
  get emptyBytes(): number {
    // Plain loops, no generator: a release that empties a slab of a class with no room for
    // empty ones (tooManyEmpty) reads this while the bound is not reached.
    let n = 0;
    for (const c of this.table.classes) n += c.emptySlabs * c.slabBytes;
    for (const c of this.dedicated.values()) n += c.emptySlabs * c.slabBytes;
    return n;
  }

  /** Leases outstanding in the whole pool (summed over classes: kept off the hot path). */
  get leased(): number {
    let n = 0;
    for (const c of this.allClasses()) n += c.leased;
    return n;
  }

  stats(): AllocatorStats {
    return allocatorStats(this);
  }

  /** What a low-level handle names now (outstanding.ts); undefined for no handle of this pool. For tests. */
  describeHandle(handle: number, out: RioBufOut): number | undefined {
    return describeHandle(this, this.handles, handle, out);
  }

  /** What a slot handle (leak detection's) names now (outstanding.ts). */
  describeSlotHandle(handle: number, out: RioBufOut): number | undefined {
    return describeSlotHandle(this, handle, out);
  }

  /** The live handle of a leased slot (leak detection's reclaim). Pre: the slot is leased. */
  handleOfSlot(slab: Slab, slot: number): number {
    return handleOf(slab.id, slot, slab.gens[slot]!);
  }
}
