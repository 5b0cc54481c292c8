/**
 * SlabPool: the slab allocator. All of riopool's policy is here; memory comes from a Registrar.
 *
 * Notation
 *   class c      a SlabClass: slot size s_c, slab size b_c, n_c slots per slab
 *   slab         b_c bytes, one registration, n_c slots
 *   handle       (slab id << 16) | slot: a small integer naming one leased slot
 *
 * acquire(n)
 *   1. validate n (an integer, 1 .. maxLength) and that the pool is open
 *   2. c = the class of n (a table lookup), or the dedicated class of ceil(n / page) pages
 *   3. slab = the top of c's `available` stack, or a new slab: map -> register (native calls,
 *      only here and in retire)
 *   4. take the head of the slab's free list; if the slab is now full, pop it off `available`
 *   5. wrap it in a Lease (acquire) or write its RioBuf into the caller's object (acquireInto)
 * release (lease.release() at zero references, or releaseHandle)
 *   1. put the slot back at the head of the free list; if the slab was full, push it onto
 *      `available`
 *   2. if the slab is now empty and c has more than `emptySlabsMax` empty slabs, retire empty
 *      slabs of c beyond what its recent peak needs (below): this hysteresis keeps a workload
 *      that swings around a slab boundary, or churns one-slot dedicated slabs, from registering
 *      and deregistering on every call
 *   3. if the pool is closing and nothing is leased, finish closing
 * recent peak      each class records the most slots leased at once in its current window of
 *                  WINDOW acquires and in the window before. Automatic retirement keeps
 *                  ceil(recent peak / n_c) slabs (at least the non-empty ones) plus
 *                  `emptySlabsKept` empty ones, and acts only when the class holds more than
 *                  that plus (emptySlabsMax - emptySlabsKept): slabs a steady load keeps
 *                  reusing stay registered; after a load drops, they go a window or two later
 * retire(slab)     only with no slot leased: deregister -> unmap (which detaches every view)
 * trim()           retire every empty slab now
 * close()          refuse new acquires; once every lease is released, retire every slab
 *
 * Both acquire and release are O(1) and make no native call in steady state.
 *
 * Invariants (checkInvariants, run by the tests after every step):
 *   per slab   the free list holds exactly the free slots; leased slots number `leased`
 *   per class  leased = sum of its slabs' leased; emptySlabs = slabs with none leased;
 *              `available` = exactly the slabs with a free slot; `top` = its top
 *   pool       registrations = live slabs; mapped bytes = sum of slab sizes;
 *              every slab is active and attached
 *   slices     a slot lies inside its slab's registration; slots of a slab never overlap
 */
import { RioError } from './errors';
import { Lease, releasedError, type LeaseOwner } from './lease';
import type { Registrar } from './registrar';
import { SizeClassTable } from './size-classes';
import { Slab, SlabClass, handleOf } from './slab';
import { STATS_VERSION, type ClassStats, type PoolStats } from './stats';

/** At most this many slabs at once: a handle keeps the slab id in 15 bits. */
export const MAX_SLABS = 32768; // 1 << 15
/** The largest request: io_uring registers at most 1 GiB per buffer. */
export const MAX_LENGTH = 1 << 30;
/**
 * Acquires per class in one window of its recent peak (a power of two). Exported with
 * `export { WINDOW }` below, so the hot path reads a local constant, not a property of `exports`.
 */
const WINDOW = 4096; // 1 << 12
export { WINDOW };

export interface SlabPoolOptions {
  /** Target slab size in bytes; default 64 KiB. */
  slabBytes?: number;
  /** Largest slot size served from shared slabs; default one OS page. */
  largestClass?: number;
  /** Most bytes the pool may map; default unlimited (the OS's lock limit still applies). */
  maxBytes?: number;
  /** Empty slabs per class that automatic retirement leaves in place; default 1. */
  emptySlabsKept?: number;
  /** Empty slabs per class that trigger automatic retirement; default 4. */
  emptySlabsMax?: number;
}

/** The low-level path writes a slot's RioBuf into an object the caller reuses. */
export interface RioBufOut {
  bufferId: number;
  offset: number;
  length: number;
}

// Cold paths live in their own functions, so the hot functions stay small enough to inline.
function invalidLength(length: unknown, max: number): RioError {
  return new RioError(
    'ERR_RIO_INVALID_LENGTH',
    `acquire: length must be an integer from 1 to ${max}, got ${typeof length === 'number' ? length : typeof length}`,
  );
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

function invalidOption(name: string, value: unknown, rule: string): RioError {
  return new RioError('ERR_RIO_INVALID_OPTION', `option ${name}=${String(value)}: ${rule}`);
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value === Infinity || Number.isInteger(value)) || value < min || value > max) {
    throw invalidOption(name, value, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

export class SlabPool implements LeaseOwner {
  readonly registrar: Registrar;
  readonly table: SizeClassTable;
  readonly maxLength: number;
  readonly maxBytes: number;
  readonly emptySlabsKept: number;
  readonly emptySlabsMax: number;

  private readonly shared: SlabClass[];
  /** The shared class by ceil(length / 16): one load on the hot path. */
  private readonly classByGranule: SlabClass[];
  private readonly dedicated = new Map<number, SlabClass>();
  /** The dedicated class used last: a run of same-size large requests skips the Map lookup. */
  private lastDedicated: SlabClass | undefined = undefined;
  private readonly largest: number;
  /** Slabs by id; ids are reused. */
  private readonly slabs: (Slab | undefined)[] = [];
  private readonly freeSlabIds: number[] = [];
  private readonly byBufferId: (Slab | undefined)[] = [];

  private liveSlabs = 0;
  private mappedBytes = 0;
  private peakMappedBytes = 0;
  private totalRegistrations = 0;
  private retirements = 0;
  private trims = 0;
  /** The slot the last take() popped (saves returning a pair). */
  private takenSlot = 0;

  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private settleClose: ((error?: unknown) => void) | undefined;

  constructor(registrar: Registrar, options: SlabPoolOptions = {}) {
    this.registrar = registrar;
    const page = registrar.pageSize;
    const slabBytes = intOption('slabBytes', options.slabBytes, 64 * 1024, page, 1 << 30);
    const largestClass = intOption('largestClass', options.largestClass, page, 16, 1 << 20);
    this.maxBytes = intOption('maxBytes', options.maxBytes, Infinity, page, Infinity);
    this.emptySlabsKept = intOption('emptySlabsKept', options.emptySlabsKept, 1, 0, 1 << 20);
    this.emptySlabsMax = intOption('emptySlabsMax', options.emptySlabsMax, Math.max(4, this.emptySlabsKept), 0, 1 << 20);
    if (this.emptySlabsMax < this.emptySlabsKept) {
      throw invalidOption('emptySlabsMax', this.emptySlabsMax, 'must be at least emptySlabsKept');
    }
    this.table = new SizeClassTable({ pageSize: page, largestClass, slabBytes });
    this.largest = this.table.largestClass;
    this.shared = this.table.classes.map(
      (c) => new SlabClass(c.index, c.slotSize, c.slabBytes, c.slotsPerSlab, false),
    );
    this.classByGranule = [];
    for (let g = 0; g * 16 <= this.table.largestClass; g++) {
      this.classByGranule.push(this.shared[this.table.indexOf(Math.max(1, g * 16))]!);
    }
    this.maxLength = Math.min(MAX_LENGTH, this.maxBytes);
  }

  // ---------------------------------------------------------------------------------------
  // Hot path

  /** Leases a slot of at least `length` bytes. */
  acquire(length: number): Lease {
    const slab = this.take(length);
    return new Lease(slab, this.takenSlot, length);
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
    out.offset = slot * slab.cls.slotSize;
    out.length = length;
    return handleOf(slab.id, slot);
  }

  releaseHandle(handle: number): void {
    const slab = this.slabOfHandle(handle);
    const slot = handle & 0xffff;
    // A slot past the slab's end reads as undefined, a free slot as <= 0: both fail `> 0`.
    if (slab === undefined || !(slab.slots[slot]! > 0)) throw this.badRelease(slab, handle);
    this.releaseSlot(slab, slot);
  }

  /**
   * The live slab a handle's upper bits name, if any (the slot is the caller's to check).
   * A negative int32 has bit 31 set, so its slab id is >= MAX_SLABS and finds no slab.
   */
  private slabOfHandle(handle: number): Slab | undefined {
    return typeof handle === 'number' && (handle | 0) === handle ? this.slabs[handle >>> 16] : undefined;
  }

  private badRelease(slab: Slab | undefined, handle: number): RioError {
    return slab !== undefined && (handle & 0xffff) < slab.cls.slotsPerSlab
      ? releasedError('releaseHandle()')
      : notAHandle('releaseHandle', handle);
  }

  /**
   * Writes the RioBuf of the slot a handle names into `out` (length = its requested length,
   * 0 for a free slot) and returns the slot size. Works for free slots too; throws
   * ERR_RIO_INVALID_BUFFER for a handle that names no slot of a live slab.
   */
  describeHandle(handle: number, out: RioBufOut): number {
    const slab = this.slabOfHandle(handle);
    const slot = handle & 0xffff;
    if (slab === undefined || slot >= slab.cls.slotsPerSlab) throw notAHandle('describeHandle', handle);
    out.bufferId = slab.bufferId;
    out.offset = slot * slab.cls.slotSize;
    out.length = Math.max(0, slab.slots[slot]!);
    return slab.cls.slotSize;
  }

  /** The whole slab behind a buffer id, for the low-level path. */
  view(bufferId: number): Uint8Array {
    const slab = typeof bufferId === 'number' ? this.byBufferId[bufferId] : undefined;
    if (slab === undefined) {
      throw new RioError('ERR_RIO_INVALID_BUFFER', `view: ${String(bufferId)} is not a buffer id of this pool`);
    }
    return slab.view;
  }

  /** Called by a lease at its last release. */
  releaseLease(lease: Lease): void {
    this.releaseSlot(lease.slab, lease.slot);
  }

  private take(length: number): Slab {
    if (typeof length !== 'number' || (length | 0) !== length || length < 1 || length > this.maxLength) {
      throw invalidLength(length, this.maxLength);
    }
    if (this.closing) throw poolClosed();
    const cls = length <= this.largest ? this.classByGranule[(length + 15) >> 4]! : this.dedicatedClass(length);
    let slab = cls.top;
    if (slab === undefined) slab = this.grow(cls);
    const slot = slab.takeSlot(length);
    if (slab.freeHead < 0) cls.popAvailable();
    if (slab.leased === 1) cls.emptySlabs--;
    if (++cls.leased > cls.windowPeak) {
      cls.windowPeak = cls.leased;
      if (cls.leased > cls.peak) cls.peak = cls.leased;
    }
    if ((++cls.totalAcquired & (WINDOW - 1)) === 0) {
      cls.lastWindowPeak = cls.windowPeak;
      cls.windowPeak = cls.leased;
    }
    this.takenSlot = slot;
    return slab;
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
      cls = new SlabClass(-1, bytes, bytes, 1, true);
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

  /** Automatic retirement: keeps what the class's recent peak needs, plus the band. */
  private retireBeyondRecentPeak(cls: SlabClass): void {
    const recentPeak = Math.max(cls.windowPeak, cls.lastWindowPeak);
    const needed = Math.max(Math.ceil(recentPeak / cls.slotsPerSlab), cls.slabs - cls.emptySlabs);
    const target = needed + this.emptySlabsKept;
    if (cls.slabs <= target + (this.emptySlabsMax - this.emptySlabsKept)) return;
    this.retireEmpty(cls, cls.emptySlabs - (cls.slabs - target));
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
    // DESIGN.md rule 2: never deregister with anything outstanding.
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
      this.closePromise = new Promise<void>((resolve, reject) => {
        this.settleClose = (error?: unknown) => (error === undefined ? resolve() : reject(error));
      });
      if (this.leased === 0) this.finishClose();
    }
    return this.closePromise;
  }

  get isClosed(): boolean {
    return this.closed;
  }
  get isClosing(): boolean {
    return this.closing;
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
  // Introspection

  private *allClasses(): Iterable<SlabClass> {
    yield* this.shared;
    yield* this.dedicated.values();
  }

  /** The buffers of the live slabs (for residency figures). */
  slabBuffers(): ArrayBuffer[] {
    const out: ArrayBuffer[] = [];
    for (const slab of this.slabs) if (slab !== undefined) out.push(slab.buffer);
    return out;
  }

  /** Leases outstanding in the whole pool (summed over classes: kept off the hot path). */
  get leased(): number {
    let n = 0;
    for (const c of this.allClasses()) n += c.leased;
    return n;
  }

  /** Bytes asked for by live leases (summed over slots: kept off the hot path). */
  private requestedBytesNow(): number {
    let n = 0;
    for (const slab of this.slabs) {
      if (slab === undefined || slab.leased === 0) continue;
      const slots = slab.slots;
      for (let i = 0; i < slots.length; i++) if (slots[i]! > 0) n += slots[i]!;
    }
    return n;
  }

  stats(): PoolStats {
    const classes: ClassStats[] = [];
    let reservedBytes = 0;
    let hostageSlabs = 0;
    let hostageBytes = 0;
    for (const c of this.allClasses()) {
      reservedBytes += c.leased * c.slotSize;
      if (c.slabs === 0 && c.totalAcquired === 0) continue;
      classes.push({
        slotSize: c.slotSize,
        slabBytes: c.slabBytes,
        slotsPerSlab: c.slotsPerSlab,
        dedicated: c.dedicated,
        slabs: c.slabs,
        emptySlabs: c.emptySlabs,
        leased: c.leased,
        free: c.slabs * c.slotsPerSlab - c.leased,
        peak: c.peak,
        totalAcquired: c.totalAcquired,
        registrations: c.registrations,
        retirements: c.retirements,
        churn: c.churn,
      });
    }
    let churn = 0;
    for (const c of classes) churn += c.churn;
    for (const slab of this.slabs) {
      if (slab !== undefined && slab.leased > 0 && slab.leased * 8 <= slab.cls.slotsPerSlab) {
        hostageSlabs++;
        hostageBytes += slab.cls.slabBytes;
      }
    }
    return {
      version: STATS_VERSION,
      backend: this.registrar.backend,
      locked: this.registrar.locks,
      pageSize: this.registrar.pageSize,
      classes,
      totals: {
        slabs: this.liveSlabs,
        registrations: this.liveSlabs,
        totalRegistrations: this.totalRegistrations,
        retirements: this.retirements,
        churn,
        leased: this.leased,
        requestedBytes: this.requestedBytesNow(),
        reservedBytes,
        mappedBytes: this.mappedBytes,
        peakMappedBytes: this.peakMappedBytes,
        lockedBytes: this.registrar.locks ? this.mappedBytes : 0,
        trims: this.trims,
        hostageSlabs,
        hostageBytes,
      },
    };
  }

  /** DESIGN.md's memory-safety rules as code; throws an Error naming the first broken one. */
  checkInvariants(): void {
    const fail = (rule: string): never => {
      throw new Error(`riopool invariant broken: ${rule}`);
    };
    let slabs = 0;
    let leased = 0;
    let mapped = 0;
    const perClass = new Map<SlabClass, { leased: number; empty: number; slabs: number }>();
    for (const slab of this.slabs) {
      if (slab === undefined) continue;
      const c = slab.cls;
      slabs++;
      mapped += c.slabBytes;
      if (slab.state !== 'active') fail(`live slab ${slab.id} is ${slab.state}`);
      if (slab.buffer.byteLength !== c.slabBytes) fail(`slab ${slab.id} is detached or resized`);
      if (this.byBufferId[slab.bufferId] !== slab) fail(`slab ${slab.id} is not found by its buffer id`);
      if (c.slotsPerSlab * c.slotSize > c.slabBytes) fail(`class ${c.slotSize}: slots overrun the slab`);
      if (slab.slots.length !== c.slotsPerSlab) fail(`slab ${slab.id}: ${slab.slots.length} slot entries`);
      let held = 0;
      for (let s = 0; s < c.slotsPerSlab; s++) {
        if (slab.slots[s]! > 0) {
          held++;
          if (slab.slots[s]! > c.slotSize) fail(`slab ${slab.id} slot ${s}: length above slot size`);
        }
      }
      if (held !== slab.leased) fail(`slab ${slab.id}: ${held} leased entries for ${slab.leased} leased`);
      const seen = new Set<number>();
      for (let s = slab.freeHead; s !== -1; s = ~slab.slots[s]!) {
        if (s < 0 || s >= c.slotsPerSlab || seen.has(s) || slab.slots[s]! > 0) fail(`slab ${slab.id}: bad free slot ${s}`);
        seen.add(s);
      }
      if (seen.size + slab.leased !== c.slotsPerSlab) fail(`slab ${slab.id}: free + leased != capacity`);
      const inAvailable = slab.availIndex >= 0 && c.available[slab.availIndex] === slab;
      if (inAvailable !== slab.freeHead >= 0) fail(`slab ${slab.id}: available stack disagrees with free slots`);
      const pc = perClass.get(c) ?? { leased: 0, empty: 0, slabs: 0 };
      pc.leased += slab.leased;
      pc.slabs++;
      if (slab.leased === 0) pc.empty++;
      perClass.set(c, pc);
      leased += slab.leased;
    }
    for (const c of this.allClasses()) {
      const pc = perClass.get(c) ?? { leased: 0, empty: 0, slabs: 0 };
      if (pc.leased !== c.leased) fail(`class ${c.slotSize}: leased ${c.leased} != ${pc.leased}`);
      if (pc.empty !== c.emptySlabs) fail(`class ${c.slotSize}: emptySlabs ${c.emptySlabs} != ${pc.empty}`);
      if (pc.slabs !== c.slabs) fail(`class ${c.slotSize}: slabs ${c.slabs} != ${pc.slabs}`);
      for (const s of c.available) if (this.slabs[s.id] !== s) fail(`class ${c.slotSize}: retired slab in available`);
      if (c.top !== c.available[c.available.length - 1]) fail(`class ${c.slotSize}: top is not the top of available`);
    }
    if (slabs !== this.liveSlabs) fail(`registrations ${this.liveSlabs} != registered slabs ${slabs}`);
    if (leased !== this.leased) fail(`pool leased ${this.leased} != ${leased}`);
    if (mapped !== this.mappedBytes) fail(`mapped bytes ${this.mappedBytes} != ${mapped}`);
    if (this.mappedBytes > this.maxBytes) fail('mapped bytes above maxBytes');
    if (this.closed && slabs !== 0) fail('a closed pool still holds slabs');
  }
}
