/**
 * HandleTable: the low-level path's handles (acquireInto / releaseHandle). A handle names one
 * leased slot until it is released; a stale handle (released already), a forged one (any other
 * number) and a foreign one (another pool's) name nothing, so releasing one frees nothing.
 *
 * Notation
 *   entry        a row of the table: the slot it names now (its "location"), and its tag
 *   location     slab id << SLOT_BITS | slot (handle.ts): 31 bits, >= 0
 *   tag          1 .. TAG_MAX (11 bits); an entry's tag moves on (wrapping to 1) at every release
 *   handle       tag << ENTRY_BITS | entry: a positive integer below 2^31
 *
 * A handle is an int32, which V8 keeps as a small integer: a handle carried through a call that
 * is not inlined is never boxed, so the low-level path makes no garbage (a handle with the slot's
 * 22-bit generation in it was a double, and 10 million pairs made 38 to 76 collections).
 *
 * issue(location)  pop an entry off the free stack, store the location, return tag << 20 | entry
 * redeem(handle)   entry = handle & MASK; the handle is live when the entry is in use
 *                  (location >= 0) and its tag is the handle's; then free the entry (location kept
 *                  as ~location, tag + 1, entry pushed on the free stack) and return the location.
 *                  Anything else returns -1 and changes nothing.
 *
 * Invariants (checkTable, run by tests):
 *   entries [0, made) are each either in use (location >= 0) or on the free stack, once;
 *   entries [made, capacity) have location -1 and are on neither
 *   every tag is in 1 .. TAG_MAX
 *
 * Why a stale handle misses: its entry's tag moved on at its release, so it names the entry
 * again only after TAG_MAX (2047) more releases of that very entry while the stale copy is kept.
 * Why a foreign handle misses: each table's tags start at a different point (its key), spread
 * per entry, so the same entry of two pools holds different tags (1 in 2047 alike by chance).
 * Why a forged one misses: a value that is not an int32, a negative one (tag bits 2048..4095),
 * an entry never made (location -1) or a tag that is not the entry's. This is a check against
 * mistakes, not a secret against an adversary with the process's memory.
 *
 * Both operations are O(1) and touch three typed arrays; the table grows by doubling, up to
 * 2^20 entries in use at once (ERR_RIO_POOL_EXHAUSTED past it).
 */
import { RioError } from './errors';

/** Bits of a handle that hold its entry. */
export const ENTRY_BITS = 20;
/** The most entries (handles outstanding at once). */
export const MAX_ENTRIES = 1048576; // 1 << 20
/** Tags run 1 .. TAG_MAX, then wrap to 1 (never 0: no handle is below 2^20). */
export const TAG_MAX = 2047; // (1 << 11) - 1
const FIRST_CAPACITY = 64;
// The hot path's copies: an exported const is read as a property of `exports` in CommonJS.
const SHIFT = 20;
const MASK = 0xfffff;
const LAST_TAG = 2047;

/** Each table's tags start elsewhere: consecutive pools of a process differ at every entry. */
let tableKeys = (Math.random() * TAG_MAX) >>> 0;

/** The tag of an entry's first handle: entries spread out, so a handle with its entry bits changed misses. */
function firstTag(key: number, entry: number): number {
  return ((key * 1021 + entry * 7) % TAG_MAX) + 1;
}

/** An Int32Array of `n` entries holding `a`'s, the rest `fill`. */
function grown(a: Int32Array<ArrayBuffer>, n: number, fill: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  if (fill !== 0) b.fill(fill, a.length);
  b.set(a);
  return b;
}

export class HandleTable {
  /** Per entry: its location (>= 0) while in use; ~location of its last slot once free; -1 never used. */
  private location = new Int32Array(FIRST_CAPACITY).fill(-1);
  /** Per entry: the tag of its live handle, or of its next one while free (0 past `made`). */
  private tag = new Int32Array(FIRST_CAPACITY);
  /** The free stack: entries made and not in use, `freeTop` of them. */
  private free = new Int32Array(FIRST_CAPACITY);
  /** Entries on the free stack; 0 means issue() needs reserve() first (acquireInto checks it). */
  freeTop = 0;
  /** Entries made so far. */
  private made = 0;
  private readonly key: number;

  constructor() {
    tableKeys = (tableKeys + 1) % TAG_MAX;
    this.key = tableKeys;
  }

  /**
   * Makes one more entry and pushes it on the free stack (the table doubles when every entry is
   * in use). Call before taking a slot when freeTop is 0: it may throw ERR_RIO_POOL_EXHAUSTED.
   */
  reserve(): void {
    const n = this.made;
    if (n >= MAX_ENTRIES) {
      throw new RioError('ERR_RIO_POOL_EXHAUSTED', `acquireInto: ${n} handles are outstanding, the most at once`);
    }
    if (n === this.location.length) {
      this.location = grown(this.location, n * 2, -1);
      this.tag = grown(this.tag, n * 2, 0);
      this.free = grown(this.free, n * 2, 0);
    }
    this.tag[n] = firstTag(this.key, n);
    this.made = n + 1;
    this.free[this.freeTop++] = n;
  }

  /** A handle for `location` (>= 0). Pre: freeTop > 0 (reserve()). */
  issue(location: number): number {
    const entry = this.free[--this.freeTop]!;
    this.location[entry] = location;
    return (this.tag[entry]! << SHIFT) | entry;
  }

  /**
   * Frees a live handle and returns the location it named; -1 for any other value (a stale,
   * forged or foreign handle, or not a number), and then nothing changes.
   */
  redeem(handle: number): number {
    // `| 0` changes anything that is not an int32 (a double, NaN, a string; a bigint would
    // throw, so typeof first). Past the table, location reads as undefined, which fails `>= 0`.
    if (typeof handle !== 'number' || (handle | 0) !== handle) return -1;
    const entry = handle & MASK;
    const tag = handle >>> SHIFT;
    const tags = this.tag;
    const location = this.location[entry]!;
    if (!(location >= 0) || tags[entry] !== tag) return -1;
    this.location[entry] = ~location;
    tags[entry] = tag === LAST_TAG ? 1 : tag + 1;
    this.free[this.freeTop++] = entry;
    return location;
  }

  /** True when this table gave out `handle` (live or released since): its entry exists and its tag lies between the entry's first and now. */
  wasIssued(handle: number): boolean {
    if (typeof handle !== 'number' || (handle | 0) !== handle || handle < 0) return false;
    const entry = handle & MASK;
    const tag = handle >>> ENTRY_BITS;
    if (entry >= this.made || tag < 1 || tag > TAG_MAX) return false;
    const first = firstTag(this.key, entry);
    const since = (x: number) => (x - first + TAG_MAX) % TAG_MAX;
    // The entry's current tag is that of its live handle (in use) or of its next one (free).
    const current = this.tag[entry]!;
    return this.location[entry]! >= 0 ? since(tag) <= since(current) : since(tag) < since(current);
  }

  /**
   * What an issued handle names (pre: wasIssued(handle)): `live` true and its location while
   * it is; for a released handle whose entry was not used since, the location it had (live
   * false); -1 when its entry was used again since.
   */
  locationOf(handle: number): { live: boolean; location: number } {
    const entry = handle & MASK;
    const tag = handle >>> ENTRY_BITS;
    const location = this.location[entry]!;
    if (location >= 0) return { live: this.tag[entry] === tag, location: this.tag[entry] === tag ? location : -1 };
    const next = tag === TAG_MAX ? 1 : tag + 1;
    return { live: false, location: next === this.tag[entry] ? ~location : -1 };
  }

  /** Handles in use now. */
  get inUse(): number {
    return this.made - this.freeTop;
  }

  /** Throws an Error naming the first broken invariant of the table (see the header). */
  checkTable(): void {
    const onStack = new Set<number>();
    for (let i = 0; i < this.freeTop; i++) {
      const e = this.free[i]!;
      if (e < 0 || e >= this.made || onStack.has(e))
        throw new Error(`riopool invariant broken: handle entry ${e} on the free stack twice or never made`);
      if (this.location[e]! >= 0) throw new Error(`riopool invariant broken: handle entry ${e} both free and in use`);
      onStack.add(e);
    }
    for (let e = 0; e < this.location.length; e++) {
      if (e < this.made) {
        if (this.location[e]! < 0 && !onStack.has(e)) throw new Error(`riopool invariant broken: handle entry ${e} is lost`);
        if (this.tag[e]! < 1 || this.tag[e]! > TAG_MAX)
          throw new Error(`riopool invariant broken: handle entry ${e} has tag ${this.tag[e]}`);
      } else if (this.location[e] !== -1) {
        throw new Error(`riopool invariant broken: handle entry ${e} past the made ones is not -1`);
      }
    }
  }
}
