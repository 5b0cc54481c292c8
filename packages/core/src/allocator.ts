/**
 * SlabPool: the slab allocator. All of riopool's allocation policy is here and in the files it
 * imports; memory comes from a Registrar.
 *
 * Notation
 *   class c      a SlabClass: slot size s_c, slab size b_c, n_c slots per slab
 *   slab         b_c bytes, one registration, n_c slots
 *   handle       (slab id << 16) | slot: a small integer naming one leased slot (handle.ts)
 *
 * acquire(n)
 *   1. validate n (an integer, 1 .. maxLength) and that the pool is open
 *   2. c = the class of n (one table load), or the dedicated class of ceil(n / page) pages
 *   3. slab = the top of c's `available` stack, or a new slab: map -> register (native calls,
 *      only here and in retire)
 *   4. take the head of the slab's free list; if the slab is now full, pop it off `available`
 *   5. wrap it in a Lease (acquire) or write its RioBuf into the caller's object (acquireInto)
 * release (lease.release() at zero references, or releaseHandle)
 *   1. put the slot back at the head of the free list; if the slab was full, push it onto
 *      `available`
 *   2. if the slab is now empty and c has more than `emptySlabsMax` empty slabs, retire what
 *      retirement.ts says (slabs beyond the class's recent peak plus a band): this hysteresis
 *      keeps a load that swings around a slab boundary from registering and deregistering on
 *      every call
 *   3. if the pool is closing and nothing is leased, finish closing
 * retire(slab)     only with no slot leased: deregister -> unmap (which detaches every view)
 * trim()           retire every empty slab now
 * close()          refuse new acquires; once every lease is released, retire every slab
 *
 * Both acquire and release are O(1) and make no native call in steady state. The invariants
 * are written out, and checked, in invariants.ts; the counters become stats in stats.ts.
 *
 * Over 300 lines for a reason: this one class holds the state that acquire, release, grow and
 * retire all change (free lists, class stacks, slab table, counters), and each change sits next
 * to its counterpart (take/release, grow/retire). Policy that can stand alone lives apart:
 * options.ts, retirement.ts, handle.ts, size-classes.ts.
 */
import { RioError } from './errors';
import * as handles from './handle';
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
const { MAX_SLABS, handleOf, slabIdOf, slotOf } = handles;
const { Lease: LeaseClass, releasedError } = leases;
const WINDOW_MASK = WINDOW - 1;

// Cold paths live in their own functions, so the hot functions stay small enough to inline.
function invalidLength(length: unknown, max: number): RioError {
  const got = typeof length === 'number' ? length : typeof length;
  return new RioError('ERR_RIO_INVALID_LENGTH', `acquire: length must be an integer from 1 to ${max}, got ${got}`);
}
function notABufferId(bufferId: unknown): RioError {
  return new RioError('ERR_RIO_INVALID_BUFFER', `view: ${String(bufferId)} is not a buffer id of this pool`);
}
function poolClosed(): RioError {
  return new RioError('ERR_RIO_POOL_CLOSED', 'acquire: the pool is closed');
}
function notAnOut(): RioError {
  return new RioError('ERR_RIO_INVALID_BUFFER', 'acquireInto: out must be an object to write the RioBuf into');
}
function notAHandle(what: string, handle: unknown): RioError {
  return new RioError('ERR_RIO_INVALID_BUFFER', `${what}: ${String(handle)} is not a handle of this pool`);
}

/**
 * Watches leases as they are handed out and given back (the pool package's leak detection and
 * checked mode). Called after the slot is taken and before it is freed. A hook, not a subclass,
 * so that every pool is one class and the hot path's calls stay monomorphic.
 */
export interface LeaseTracker {
  acquired(lease: Lease, slab: Slab, slot: number): void;
  released(lease: object, slab: Slab, slot: number): void;
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
  /** Dedicated classes (one slot of whole pages) by slab size. */
  readonly dedicated = new Map<number, SlabClass>();
  /** Live slabs by id (ids are reused), and by buffer id. */
  readonly slabs: (Slab | undefined)[] = [];
  readonly byBufferId: (Slab | undefined)[] = [];

  liveSlabs = 0;
  mappedBytes = 0;
  peakMappedBytes = 0;
  totalRegistrations = 0;
  retirements = 0;
  trims = 0;
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
  private closePromise: Promise<void> | undefined;
  private settleClose: ((error?: unknown) => void) | undefined;

  constructor(registrar: Registrar, options: SlabPoolOptions = {}, tracker?: LeaseTracker) {
    this.registrar = registrar;
    this.tracker = tracker;
    const o = resolveOptions(options, registrar.pageSize, registrar.maxRegistrationBytes);
    this.maxBytes = o.maxBytes;
    this.emptySlabsKept = o.emptySlabsKept;
    this.emptySlabsMax = o.emptySlabsMax;
    const figures = { pageSize: registrar.pageSize, largestClass: o.largestClass, slabBytes: o.slabBytes };
    this.table = new SizeClassTable(figures, (f) => new SlabClass(f, false));
    this.largest = this.table.largestClass;
    // The largest request: what one registration may hold (the backend's limit), within maxBytes.
    this.maxLength = Math.min(registrar.maxRegistrationBytes, this.maxBytes);
    this.openMaxLength = this.maxLength;
  }

  // ---------------------------------------------------------------------------------------
  // Hot path

  /** Leases a slot of at least `length` bytes. */
  acquire(length: number): Lease {
    const slab = this.take(length);
    const lease = new LeaseClass(slab, this.takenSlot, length);
    if (this.tracker !== undefined) this.tracker.acquired(lease, slab, this.takenSlot);
    return lease;
  }

  /**
   * The low-level path: writes the slot's RioBuf into `out` and returns its handle, allocating
   * nothing. Release with releaseHandle(handle); reach the bytes with view(out.bufferId).
   * A handle has no reference count and, unlike a lease, cannot tell a stale copy of itself
   * from the slot's next owner: release each handle exactly once.
   */
  acquireInto(length: number, out: RioBufOut): number {
    if (typeof out !== 'object' || out === null) throw notAnOut();
    const slab = this.take(length);
    const slot = this.takenSlot;
    out.bufferId = slab.bufferId;
    out.offset = slab.cls.offsetOf(slot);
    out.length = length;
    return handleOf(slab.id, slot);
  }

  releaseHandle(handle: number): void {
    const slab = this.slabs[slabIdOf(handle)];
    const slot = slotOf(handle);
    // A slot past the slab's end reads as undefined, a free slot as <= 0: both fail `> 0`.
    if (slab === undefined || !(slab.slots[slot]! > 0)) throw this.badRelease(slab, handle);
    this.releaseSlot(slab, slot);
  }

  private badRelease(slab: Slab | undefined, handle: number): RioError {
    return slab !== undefined && slotOf(handle) < slab.cls.slotsPerSlab
      ? releasedError('releaseHandle()')
      : notAHandle('releaseHandle', handle);
  }

  /** The whole slab behind a buffer id, for the low-level path. */
  view(bufferId: number): Uint8Array {
    const slab = typeof bufferId === 'number' ? this.byBufferId[bufferId] : undefined;
    if (slab === undefined) throw notABufferId(bufferId);
    return slab.view;
  }

  /** Called by a lease at its last release. */
  releaseLease(lease: object, slab: Slab, slot: number): void {
    if (this.tracker !== undefined) this.tracker.released(lease, slab, slot);
    this.releaseSlot(slab, slot);
  }

  // take and releaseSlot run on every acquire and release: their bytecode is kept small so that
  // V8 inlines the whole pair into a caller's loop (its inlining budget is about 920 bytes of
  // bytecode per function). What runs rarely is in a method of its own.

  private take(length: number): Slab {
    if (typeof length !== 'number' || (length | 0) !== length || length < 1 || length > this.openMaxLength) {
      throw this.cannotTake(length);
    }
    const cls = length <= this.largest ? this.table.classFor(length) : this.dedicatedClass(length);
    let slab = cls.top;
    if (slab === undefined) slab = this.grow(cls);
    const slot = slab.takeSlot(length);
    if (slab.freeHead < 0) cls.popAvailable();
    if (slab.leased === 1) cls.emptySlabs--;
    if (++cls.leased > cls.windowPeak) cls.newPeak();
    if ((++cls.totalAcquired & WINDOW_MASK) === 0) cls.nextWindow();
    this.takenSlot = slot;
    return slab;
  }

  /** Why take() refused a length: a bad length, or a pool that is closing (openMaxLength 0). */
  private cannotTake(length: unknown): RioError {
    const valid = typeof length === 'number' && Number.isInteger(length) && length >= 1 && length <= this.maxLength;
    return valid && this.closing ? poolClosed() : invalidLength(length, this.maxLength);
  }

  private releaseSlot(slab: Slab, slot: number): void {
    const cls = slab.cls;
    const wasFull = slab.freeHead < 0;
    slab.freeSlot(slot);
    if (wasFull) cls.pushAvailable(slab);
    cls.leased--;
    if (slab.leased === 0 && ++cls.emptySlabs > this.emptySlabsMax) this.retireBeyondRecentPeak(cls);
    if (this.closing) this.closeIfDrained();
  }

  private retireBeyondRecentPeak(cls: SlabClass): void {
    this.retireEmpty(cls, cls.emptySlabs - slabsToRetire(cls, this.emptySlabsKept, this.emptySlabsMax));
  }

  private closeIfDrained(): void {
    if (this.leased === 0) this.finishClose();
  }

  // ---------------------------------------------------------------------------------------
  // Slab life

  private dedicatedClass(length: number): SlabClass {
    const bytes = this.table.dedicatedBytes(length);
    if (this.lastDedicated !== undefined && this.lastDedicated.slotSize === bytes) return this.lastDedicated;
    let cls = this.dedicated.get(bytes);
    if (cls === undefined) {
      cls = new SlabClass({ index: -1, slotSize: bytes, slabBytes: bytes, slotsPerSlab: 1 }, true);
      this.dedicated.set(bytes, cls);
    }
    this.lastDedicated = cls;
    return cls;
  }

  private grow(cls: SlabClass): Slab {
    if (this.mappedBytes + cls.slabBytes > this.maxBytes) {
      throw new RioError(
        'ERR_RIO_POOL_EXHAUSTED',
        `acquire: a new ${cls.slabBytes}-byte slab would pass maxBytes (${this.maxBytes}); ${this.mappedBytes} bytes are mapped`,
      );
    }
    const id = this.freeSlabIds.length > 0 ? this.freeSlabIds.pop()! : this.slabs.length;
    if (id >= MAX_SLABS) {
      throw new RioError('ERR_RIO_TOO_MANY_REGISTRATIONS', `acquire: the pool holds ${MAX_SLABS} slabs, its most`);
    }
    let buffer: ArrayBuffer | undefined;
    let bufferId: number;
    try {
      buffer = this.registrar.map(cls.slabBytes);
      bufferId = this.registrar.register(buffer);
    } catch (e) {
      if (buffer !== undefined) this.registrar.unmap(buffer);
      if (id < this.slabs.length) this.freeSlabIds.push(id);
      throw e;
    }
    const slab = new Slab(this, id, cls, buffer, bufferId);
    this.slabs[id] = slab;
    this.byBufferId[bufferId] = slab;
    cls.pushAvailable(slab);
    cls.slabs++;
    cls.emptySlabs++;
    cls.registrations++;
    if (cls.lastEventWasRetire) {
      cls.churn++;
      cls.lastEventWasRetire = false;
    }
    this.liveSlabs++;
    this.totalRegistrations++;
    this.mappedBytes += cls.slabBytes;
    if (this.mappedBytes > this.peakMappedBytes) this.peakMappedBytes = this.mappedBytes;
    return slab;
  }

  /** Retires empty slabs of a class, oldest-in-stack first, until `keep` remain. */
  private retireEmpty(cls: SlabClass, keep: number): number {
    let retired = 0;
    const available = cls.available;
    let i = 0;
    while (cls.emptySlabs > keep && i < available.length) {
      const slab = available[i]!;
      if (slab.leased === 0) {
        this.retire(slab); // swaps the top into index i: look at i again
        retired++;
      } else {
        i++;
      }
    }
    return retired;
  }

  private retire(slab: Slab): void {
    // docs/design.md, rule 2: never deregister with anything outstanding.
    if (slab.leased !== 0) {
      throw new Error(`riopool internal error: retire of slab ${slab.id} with ${slab.leased} outstanding`);
    }
    const cls = slab.cls;
    cls.removeAvailable(slab);
    slab.state = 'retiring';
    try {
      this.registrar.deregister(slab.bufferId);
    } catch (e) {
      slab.state = 'active';
      cls.pushAvailable(slab);
      throw e;
    }
    slab.state = 'deregistered';
    this.byBufferId[slab.bufferId] = undefined;
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
   * Refuses new acquires at once; resolves when every lease is released and every slab is
   * deregistered and unmapped. Views handed out read as length 0 afterwards.
   */
  close(): Promise<void> {
    if (this.closePromise === undefined) {
      this.closing = true;
      this.openMaxLength = 0;
      this.closePromise = new Promise<void>((resolve, reject) => {
        this.settleClose = (error?: unknown) => (error === undefined ? resolve() : reject(error));
      });
      if (this.leased === 0) this.finishClose();
    }
    return this.closePromise;
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
   * Decodes a handle: writes the RioBuf of the slot it names into `out` (length = its requested
   * length, 0 for a free slot) and returns the slot size, or undefined for a value that names no
   * slot of a live slab. For tests and for checked mode; the hot path decodes inline.
   */
  describeHandle(handle: number, out: RioBufOut): number | undefined {
    const slab = this.slabs[slabIdOf(handle)];
    const slot = slotOf(handle);
    if (slab === undefined || slot >= slab.cls.slotsPerSlab) return undefined;
    out.bufferId = slab.bufferId;
    out.offset = slab.cls.offsetOf(slot);
    out.length = Math.max(0, slab.slots[slot]!);
    return slab.cls.slotSize;
  }
}
