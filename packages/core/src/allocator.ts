/**
 * SlabPool: the slab allocator. All of riopool's allocation policy is here and in the files it
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
 * retire(slab)     only with no slot leased: deregister (a registered slab) -> unmap (which
 *                  detaches every view)
 * trim()           retire every empty slab now
 * close()          refuse new acquires and retire every empty slab; each other slab goes with its
 *                  last lease, and the registrar once every slab is gone
 * abandonOutstanding()  settle close() now; slabs with leases still go only with their last lease
 *
 * Both acquire and release are O(1) and make no native call in steady state. The invariants
 * are written out, and checked, in invariants.ts; the counters become stats in stats.ts.
 *
 * Over 300 lines for a reason: this one class holds the state that acquire, release, grow and
 * retire all change (free lists, class stacks, slab table, counters), and each change sits next
 * to its counterpart (take/release, grow/retire). Policy that can stand alone lives apart:
 * options.ts, retirement.ts, handle.ts, handle-table.ts, size-classes.ts.
 */
import { RioError, isRioError } from './errors';
import { shown } from './schema';
import * as handles from './handle';
import { HandleTable } from './handle-table';
import type { RioBufOut } from './handle';
import * as leases from './lease';
import { resolveOptions, type SlabPoolOptions } from './options';
import type { Registrar } from './registrar';
import { WINDOW, slabsToRetire } from './retirement';
import type { Lease } from './lease';
import { SizeClassTable } from './size-classes';
import { Slab, SlabClass, type SlabOwner } from './slab';
import { allocatorStats, type AllocatorStats } from './stats';

// What the hot path uses from other modules, read once into module constants: compiled to
// CommonJS, an imported name is a property load from the other module's exports object on
// every call (and not a constant one), which the low-level pair measurably pays for
// (docs/performance.md, section 1, "What the hot path pays for").
const { MAX_SLABS, MAX_GENERATION, MAX_SLOTS_PER_SLAB, SLOT_BITS, handleOf, lowOf, generationOf, slabIdOf, slotOf } = handles;
const SLOT_MASK = MAX_SLOTS_PER_SLAB - 1;
const { LeaseOfSlot, TrackedLeaseOfSlot, releasedError } = leases;
// The hot path's literals (see the note above take) must match the constants they stand for.
if (SLOT_BITS !== 16 || SLOT_MASK !== 0xffff || WINDOW !== 4096)
  throw new Error('riopool: the allocator literals disagree with handle.ts / retirement.ts');

// Cold paths live in their own functions, so the hot functions stay small enough to inline.
function invalidLength(length: unknown, max: number): RioError {
  const got = typeof length === 'number' ? length : typeof length;
  return new RioError('ERR_RIO_INVALID_LENGTH', `length must be an integer from 1 to ${max}, got ${got}`);
}
function notABufferId(bufferId: unknown): RioError {
  return new RioError('ERR_RIO_INVALID_BUFFER', `view: ${shown(bufferId)} is not a buffer id of this pool`);
}
function poolClosed(): RioError {
  return new RioError('ERR_RIO_POOL_CLOSED', 'the pool is closed');
}
function notAnOut(): RioError {
  return new RioError('ERR_RIO_INVALID_BUFFER', 'acquireInto: out must be an object to write the RioBuf into');
}
function outNotWritable(cause: unknown): RioError {
  return new RioError(
    'ERR_RIO_INVALID_BUFFER',
    'acquireInto: out must take bufferId, offset and length (a plain object; not frozen, sealed, a Lease or a typed array)',
    { cause },
  );
}
function notAHandle(what: string, handle: unknown): RioError {
  const shown =
    typeof handle === 'number' || typeof handle === 'bigint' ? `${String(handle)}${typeof handle === 'bigint' ? 'n' : ''}` : typeof handle;
  return new RioError('ERR_RIO_INVALID_BUFFER', `${what}: ${shown} is not a handle of this pool`);
}

/** The buffer id of an overflow slab: negative, so that no registered I/O can take it for one. */
function overflowId(slabId: number): number {
  return -1 - slabId;
}

/**
 * Watches leases as they are handed out and given back (the pool package's leak detection and
 * checked mode). Called after the slot is taken and before it is freed. A hook, not a subclass,
 * so that every pool is one class and the hot path's calls stay monomorphic.
 */
export interface LeaseTracker {
  acquired(lease: Lease, slab: Slab, slot: number): void;
  released(lease: object, slab: Slab, slot: number): void;
  /** A slice was made of a lease of `slab` (it holds its parent until released). */
  sliced(slice: Lease, slab: Slab, slot: number): void;
  slicedReleased(slice: object): void;
}

/** Why the registration budget was spent, for the pool to say so once (onOverflow). */
export interface OverflowEvent {
  /** Bytes registered when the first overflow slab was made. */
  registeredBytes: number;
  /** The budget (maxRegisteredBytes, or what the OS took before it refused). */
  budget: number;
  /** The OS's refusal, when it refused (ERR_RIO_MEMLOCK, ERR_RIO_TOO_MANY_REGISTRATIONS). */
  cause: RioError | undefined;
}

export class SlabPool implements SlabOwner {
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
  private readonly freeSlabIds: number[] = [];
  /** The dedicated class used last: a run of same-size large requests skips the Map lookup. */
  private lastDedicated: SlabClass | undefined = undefined;
  /** The slot the last take() popped (saves returning a pair). */
  private takenSlot = 0;
  /** maxLength while open, 0 once closing: take() checks both with one comparison. */
  private openMaxLength: number;
  private overflowed = false;
  /** The state behind nextGenerationBase: random per pool. */
  private generationKey = (Math.random() * 0x100000000) >>> 0;
  /** The low-level path's handles (handle-table.ts). */
  private readonly handles = new HandleTable();
  private closePromise: Promise<void> | undefined;
  private settleClose: ((error?: unknown) => void) | undefined;

  constructor(registrar: Registrar, options: SlabPoolOptions = {}, tracker?: LeaseTracker) {
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
    if (typeof out !== 'object' || out === null) throw notAnOut();
    const handles = this.handles;
    if (handles.freeTop === 0) handles.reserve(); // before the take: it may throw
    const slab = this.take(length);
    const slot = this.takenSlot;
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
    // A live entry names a leased slot (an entry is freed before its slot is).
    const location = this.handles.redeem(handle);
    if (location < 0) throw this.badHandle('releaseHandle', handle);
    this.releaseSlot(this.slabs[location >>> 16]!, location & SLOT_MASK); // 16: SLOT_BITS
  }

  /** acquireInto's `out` refused a write (frozen, sealed, a setter that throws): the slot goes back before the error. */
  private giveBack(slab: Slab, slot: number, cause: unknown): RioError {
    this.releaseSlot(slab, slot);
    return outNotWritable(cause);
  }

  /** Why a handle was refused: ERR_RIO_RELEASED for one this pool gave out (its entry moved on since), ERR_RIO_INVALID_BUFFER for anything else. */
  private badHandle(what: string, handle: number): RioError {
    return this.handles.wasIssued(handle) ? releasedError(`${what}()`) : notAHandle(what, handle);
  }

  /**
   * Leak detection's reclaim of a Lease collected without release: the slot handle (handle.ts,
   * a double: off the hot path) names the slot and its generation, so a slot released and
   * leased again since is not freed. Throws like releaseHandle.
   */
  releaseSlotHandle(handle: number): void {
    if (typeof handle !== 'number') throw notAHandle('releaseHandle', handle);
    const low = lowOf(handle);
    const slab = this.slabs[slabIdOf(low)];
    const slot = slotOf(low);
    if (slab === undefined || slab.gens[slot] !== generationOf(handle, low) || !(slab.slots[slot]! > 0)) {
      throw notAHandle('releaseHandle', handle);
    }
    slab.nextGeneration(slot);
    this.releaseSlot(slab, slot);
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
    if (this.tracker !== undefined) this.tracker.slicedReleased(slice);
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
    const slot = slab.takeSlot(length);
    if (slab.freeHead < 0) cls.popAvailable();
    if (slab.leased === 1) cls.emptySlabs--;
    if (++cls.leased > cls.windowPeak) cls.newPeak();
    if ((++cls.totalAcquired & 4095) === 0) cls.nextWindow(); // 4095: WINDOW - 1
    this.takenSlot = slot;
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
      this.closingRelease(slab);
      return;
    }
    if (cls.emptySlabs > this.emptySlabsMax) {
      this.retireEmpty(cls, cls.emptySlabs - slabsToRetire(cls, this.emptySlabsKept, this.emptySlabsMax));
    }
    if (slab.state === 'active' && cls.slabBytes > this.emptyBytesMax / 2 && this.emptyBytes > this.emptyBytesMax) {
      this.retire(slab);
      this.boundRetirements++;
    }
  }

  /** A release while closing: the last lease finishes the close; a slab that emptied goes at once. */
  private closingRelease(slab: Slab): void {
    if (this.leased === 0) this.finishClose();
    else if (slab.leased === 0 && slab.state === 'active') this.retire(slab);
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

  private grow(cls: SlabClass): Slab {
    if (this.mappedBytes + cls.slabBytes > this.maxBytes) {
      throw new RioError(
        'ERR_RIO_POOL_EXHAUSTED',
        `a new ${cls.slabBytes}-byte slab would pass maxBytes (${this.maxBytes}); ${this.mappedBytes} bytes are mapped`,
      );
    }
    const id = this.freeSlabIds.length > 0 ? this.freeSlabIds.pop()! : this.slabs.length;
    if (id >= MAX_SLABS) {
      throw new RioError('ERR_RIO_POOL_EXHAUSTED', `the pool holds ${MAX_SLABS} slabs, its most`);
    }
    let buffer: ArrayBuffer | undefined;
    let bufferId: number;
    try {
      buffer = this.registrar.map(cls.slabBytes);
      bufferId = this.registerOrOverflow(buffer, id);
    } catch (e) {
      if (buffer !== undefined) this.registrar.unmap(buffer);
      if (id < this.slabs.length) this.freeSlabIds.push(id);
      throw e;
    }
    const slab = new Slab(this, id, cls, buffer, bufferId, this.nextGenerationBase());
    this.slabs[id] = slab;
    if (bufferId >= 0) {
      this.byBufferId[bufferId] = slab;
      this.registeredSlabs++;
      this.registeredBytes += cls.slabBytes;
      this.totalRegistrations++;
      cls.registrations++;
    }
    cls.pushAvailable(slab);
    cls.slabs++;
    cls.emptySlabs++;
    slab.emptySince = this.ticks;
    if (cls.lastEventWasRetire) {
      cls.churn++;
      cls.lastEventWasRetire = false;
    }
    this.liveSlabs++;
    this.mappedBytes += cls.slabBytes;
    if (this.mappedBytes > this.peakMappedBytes) this.peakMappedBytes = this.mappedBytes;
    return slab;
  }

  /**
   * Registers a new slab's buffer within the budget; returns its buffer id, or (past the budget,
   * or refused by the OS, with overflow allowed) the overflow id of slab `id`. A refusal lowers
   * the budget to what is registered now, so later slabs do not ask again until some go.
   */
  private registerOrOverflow(buffer: ArrayBuffer, id: number): number {
    const bytes = buffer.byteLength;
    let cause: RioError | undefined;
    if (this.registeredBytes + bytes <= this.registeredBudget) {
      try {
        return this.registrar.register(buffer);
      } catch (e) {
        if (!this.overflow || !(isRioError(e, 'ERR_RIO_MEMLOCK') || isRioError(e, 'ERR_RIO_TOO_MANY_REGISTRATIONS'))) throw e;
        cause = e as RioError;
        this.registeredBudget = this.registeredBytes;
      }
    } else if (!this.overflow) {
      throw new RioError(
        'ERR_RIO_MEMLOCK',
        `a new ${bytes}-byte slab would pass maxRegisteredBytes (${this.registeredBudget}); ${this.registeredBytes} bytes are registered`,
      );
    }
    if (!this.overflowed) {
      this.overflowed = true;
      this.onOverflow?.({ registeredBytes: this.registeredBytes, budget: this.registeredBudget, cause });
    }
    return overflowId(id);
  }

  /** Retires empty slabs of a class, overflow slabs and the oldest first, until `keep` remain. */
  private retireEmpty(cls: SlabClass, keep: number): number {
    let retired = 0;
    if (keep === 0) {
      // All of them: no order to keep (retire() swaps the top into i, which was looked at).
      for (let i = cls.available.length - 1; i >= 0; i--) {
        const slab = cls.available[i];
        if (slab !== undefined && slab.leased === 0) {
          this.retire(slab);
          retired++;
        }
      }
      return retired;
    }
    while (cls.emptySlabs > keep) {
      let pick: Slab | undefined;
      for (const slab of cls.available) {
        if (slab.leased !== 0) continue;
        if (pick === undefined || (slab.bufferId < 0 && pick.bufferId >= 0) || slab.emptySince < pick.emptySince) pick = slab;
      }
      if (pick === undefined) break;
      this.retire(pick);
      retired++;
    }
    return retired;
  }

  /**
   * At a decay tick, over the pool's bound on empty bytes: retire the longest empty slabs down to
   * half of it. (A slab that alone is more than half the bound went when it emptied: keeping it
   * would push out every smaller slab a steady load reuses, as one 10 MiB reply would cost the
   * next request all its 1 MiB receive slabs.) Not at every release: there the class's band
   * keeps a swinging load from registering and deregistering on every call (bench/churn.ts).
   */
  private retireOverBound(): void {
    const empty: Slab[] = [];
    for (const slab of this.slabs) if (slab !== undefined && slab.leased === 0) empty.push(slab);
    empty.sort((a, b) => a.emptySince - b.emptySince || a.bufferId - b.bufferId);
    for (const slab of empty) {
      if (this.emptyBytes <= this.emptyBytesMax / 2) break;
      this.retire(slab);
      this.boundRetirements++;
    }
  }

  private retire(slab: Slab): void {
    // docs/design.md, rule 2: never deregister with anything outstanding.
    if (slab.leased !== 0) {
      throw new Error(`riopool internal error: retire of slab ${slab.id} with ${slab.leased} outstanding`);
    }
    const cls = slab.cls;
    cls.removeAvailable(slab);
    slab.state = 'retiring';
    const registered = slab.bufferId >= 0;
    if (registered) {
      try {
        this.registrar.deregister(slab.bufferId);
      } catch (e) {
        slab.state = 'active';
        cls.pushAvailable(slab);
        throw e;
      }
      this.byBufferId[slab.bufferId] = undefined;
      this.registeredSlabs--;
      this.registeredBytes -= cls.slabBytes;
    }
    slab.state = 'deregistered';
    this.registrar.unmap(slab.buffer); // detaches: every view over the slab reads as length 0
    slab.state = 'unmapped';
    this.slabs[slab.id] = undefined;
    this.freeSlabIds.push(slab.id);
    cls.slabs--;
    cls.emptySlabs--;
    cls.retirements++;
    cls.lastEventWasRetire = true;
    this.liveSlabs--;
    this.retirements++;
    this.mappedBytes -= cls.slabBytes;
  }

  /** Retires every empty slab now; returns how many. */
  trim(): number {
    this.trims++;
    let retired = 0;
    for (const cls of this.allClasses()) retired += this.retireEmpty(cls, 0);
    return retired;
  }

  /**
   * One tick of decay: retires every slab that has been empty since before the previous tick
   * (so an empty slab goes after one to two ticks, in every class, whatever traffic its class
   * sees), and forgets dedicated classes with nothing left. Returns how many slabs went.
   */
  decay(): number {
    if (this.closed) return 0;
    const before = this.ticks++;
    let retired = 0;
    for (const cls of this.allClasses()) {
      if (cls.emptySlabs === 0) continue;
      for (let i = cls.available.length - 1; i >= 0; i--) {
        const slab = cls.available[i];
        // retire() swaps the top into i; walking down from the top looks at each slab once
        if (slab !== undefined && slab.leased === 0 && slab.emptySince < before) {
          this.retire(slab);
          retired++;
        }
      }
    }
    this.decayed += retired;
    const bound = this.boundRetirements;
    if (this.emptyBytes > this.emptyBytesMax && !this.closing) this.retireOverBound();
    for (const [bytes, cls] of this.dedicated) {
      if (cls.slabs === 0 && cls.leased === 0) {
        this.dedicated.delete(bytes);
        if (this.lastDedicated === cls) this.lastDedicated = undefined;
      }
    }
    return retired + this.boundRetirements - bound;
  }

  /**
   * Refuses new acquires at once; resolves when every lease is released and every slab is
   * deregistered and unmapped. Views handed out read as length 0 afterwards.
   */
  close(): Promise<void> {
    if (this.closePromise === undefined) {
      this.closing = true;
      this.openMaxLength = 0;
      // Every release that empties a slab now goes to tooManyEmpty, which retires it (or finishes the close).
      for (const cls of this.allClasses()) cls.emptyLimit = -1;
      this.closePromise = new Promise<void>((resolve, reject) => {
        this.settleClose = (error?: unknown) => (error === undefined ? resolve() : reject(error));
      });
      // Slabs with no lease go now; the others as their last lease comes back (closingRelease).
      if (this.leased === 0) this.finishClose();
      else for (const cls of this.allClasses()) this.retireEmpty(cls, 0);
    }
    return this.closePromise;
  }

  /**
   * Closes without waiting for the leases still out: the close promise resolves now. Memory a
   * lease still uses is neither deregistered nor unmapped (docs/design.md, rules 1 and 2): each
   * such slab stays until its last lease is released, then goes as in a close, and the
   * registrar closes after the last one. Leases never released keep their slabs (and the
   * registrar) until the process ends. Call it after close(); the caller (the pool) has made
   * sure no operation of its own is in flight.
   */
  abandonOutstanding(): void {
    if (this.closePromise === undefined) void this.close();
    if (!this.closed) this.settleClose!();
  }

  /**
   * Every leased slot (at most `limit` of them): its handle and RioBuf, the length its lease
   * asked for. For close()'s report of what it waits for; walks the slab table (not the hot path).
   */
  outstandingSlots(limit = Infinity): { handle: number; bufferId: number; offset: number; length: number }[] {
    const found: { handle: number; bufferId: number; offset: number; length: number }[] = [];
    for (const slab of this.slabs) {
      if (slab === undefined || slab.leased === 0) continue;
      const { slots, cls } = slab;
      for (let i = 0; i < slots.length && found.length < limit; i++) {
        if (slots[i]! > 0)
          found.push({ handle: handleOf(slab.id, i, slab.gens[i]!), bufferId: slab.bufferId, offset: cls.offsetOf(i), length: slots[i]! });
      }
      if (found.length >= limit) break;
    }
    return found;
  }

  private finishClose(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      for (const slab of this.slabs) if (slab !== undefined) this.retire(slab);
      this.registrar.close?.();
      this.settleClose!();
    } catch (e) {
      this.settleClose!(e);
    }
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
    let n = 0;
    for (const c of this.allClasses()) n += c.emptySlabs * c.slabBytes;
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

  /**
   * Decodes a low-level handle: writes the RioBuf of the slot it names into `out` (length = its
   * requested length) and returns the slot size; for a handle this pool gave out whose lease is
   * gone, zeroes `out` and returns 0; undefined for a value that is no handle of this pool.
   * For tests; the hot path decodes inline.
   */
  describeHandle(handle: number, out: RioBufOut): number | undefined {
    if (!this.handles.wasIssued(handle)) return undefined;
    // A released handle whose entry was not used since still names its slot (length 0).
    const { live, location: at } = this.handles.locationOf(handle);
    const slab = at >= 0 ? this.slabs[at >>> SLOT_BITS] : undefined;
    out.bufferId = slab === undefined ? 0 : slab.bufferId;
    out.offset = slab === undefined ? 0 : slab.cls.offsetOf(at & SLOT_MASK);
    out.length = live && slab !== undefined ? slab.slots[at & SLOT_MASK]! : 0;
    return slab === undefined ? 0 : slab.cls.slotSize;
  }

  /**
   * describeHandle for a slot handle (handle.ts: slab id, slot and the slot's generation), as
   * leak detection keeps them for leases: length 0 once the slot is free or leased again.
   */
  describeSlotHandle(handle: number, out: RioBufOut): number | undefined {
    if (typeof handle !== 'number') return undefined;
    const low = lowOf(handle);
    const slab = this.slabs[slabIdOf(low)];
    const slot = slotOf(low);
    const g = generationOf(handle, low);
    if (slab === undefined || slot >= slab.cls.slotsPerSlab || !Number.isInteger(g) || g < 1 || g > MAX_GENERATION) return undefined;
    const live = slab.gens[slot] === g && slab.slots[slot]! > 0;
    out.bufferId = slab.bufferId;
    out.offset = slab.cls.offsetOf(slot);
    out.length = live ? slab.slots[slot]! : 0;
    return slab.cls.slotSize;
  }

  /** The live handle of a leased slot (leak detection's reclaim). Pre: the slot is leased. */
  handleOfSlot(slab: Slab, slot: number): number {
    return handleOf(slab.id, slot, slab.gens[slot]!);
  }

  /**
   * Where a new slab's generations start: the pool's key (random per pool, so another pool's
   * handles miss) moved on per slab made (so a handle of a slab retired since misses the new
   * slab under the same id). Not a secret: a check against mistakes, not an adversary with the
   * pool's memory.
   */
  private nextGenerationBase(): number {
    this.generationKey = (Math.imul(this.generationKey ^ (this.generationKey >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return this.generationKey;
  }
}
