/**
 * HandleTable: the low-level path's handles (acquireInto / releaseHandle). A handle names one
 * leased slot until it is released; a stale handle (released already), a forged one (any other
 * number) and a foreign one (another pool's) name nothing, so releasing one frees nothing.
 *
 * Notation
 *   entry        a row of the table: its handle word, and the slot it names (its "location")
 *   location     slab id << SLOT_BITS | slot (handle.ts): 31 bits, >= 0
 *   tag          1 .. TAG_MAX (11 bits); an entry's tag moves on (wrapping to 1) at every release
 *   handle       tag << ENTRY_BITS | entry: a positive integer below 2^31
 *   word         per entry: its live handle while in use; ~(its next handle) while free; ~entry
 *                before it is made. A handle is live exactly when it equals its entry's word.
 *
 * A handle is an int32, which V8 keeps as a small integer: a handle carried through a call that
 * is not inlined is never boxed, so the low-level path makes no garbage (a handle with the slot's
 * 22-bit generation in it was a double, and 10 million pairs made 38 to 76 collections).
 *
 * issue(location)  pop an entry off the free stack; its handle is ~word; word = handle, store the
 *                  location, return the handle
 * redeem(handle)   entry = handle & MASK; live when word[entry] === handle (one comparison: a
 *                  free entry's word is negative, a never-made one's low bits are not its index,
 *                  and no int32 word equals a non-integer or a value past 2^31); then word =
 *                  ~(the next tag's handle), push the entry on the free stack, return the
 *                  location. Anything else returns -1 and changes nothing.
 *
 * Invariants (checkTable, run by tests):
 *   entries [0, made) are each either in use (word >= 0, its low bits its index) or on the free
 *   stack (word < 0), once; entries [made, capacity) hold ~entry and are on neither;
 *   every made entry's tag is in 1 .. TAG_MAX
 *
 * Why a stale handle misses: its entry's tag moved on at its release, so it names the entry
 * again only after TAG_MAX (2047) more releases of that very entry while the stale copy is kept.
 * Why a foreign handle misses: each table's tags start at a different point (its key), spread
 * per entry, so the same entry of two pools holds different tags (1 in 2047 alike by chance).
 * Why a forged one misses: only an entry's live handle equals its word. This is a check against
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
/** One tag, as handle bits; the last tag's handles are at LAST_HANDLE and above. */
const ONE_TAG = 0x100000; // 1 << 20
const LAST_HANDLE = 0x7ff00000; // 2047 << 20

/** Each table's tags start elsewhere: consecutive pools of a process differ at every entry. */
let tableKeys = (Math.random() * TAG_MAX) >>> 0;

/** The tag of an entry's first handle: entries spread out, so a handle with its entry bits changed misses. */
function firstTag(key: number, entry: number): number {
  return ((key * 1021 + entry * 7) % TAG_MAX) + 1;
}

/** An Int32Array of `n` entries holding `a`'s, the rest ~index (entries not made). */
function grown(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  for (let i = a.length; i < n; i++) b[i] = ~i;
  b.set(a);
  return b;
}

/** An Int32Array of `n` entries holding `a`'s, the rest 0. */
function grownZero(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** The tag of a made entry's word (in use or free). */
function tagOfWord(word: number): number {
  return (word >= 0 ? word : ~word) >>> SHIFT;
}

export class HandleTable {
  /** Per entry: its live handle while in use; ~(its next handle) while free; ~entry before it is made. */
  private word = grown(new Int32Array(0), FIRST_CAPACITY);
  /** Per entry: the location its handle names (kept after the release, for describeHandle). */
  private location = new Int32Array(FIRST_CAPACITY);
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
    if (n === this.word.length) {
      this.word = grown(this.word, n * 2);
      this.location = grownZero(this.location, n * 2);
      this.free = grownZero(this.free, n * 2);
    }
    this.word[n] = ~((firstTag(this.key, n) << SHIFT) | n);
    this.made = n + 1;
    this.free[this.freeTop++] = n;
  }

  /** A handle for `location` (>= 0). Pre: freeTop > 0 (reserve()). */
  issue(location: number): number {
    const entry = this.free[--this.freeTop]!;
    const handle = ~this.word[entry]!;
    this.word[entry] = handle;
    this.location[entry] = location;
    return handle;
  }

  /**
   * Frees a live handle and returns the location it named; -1 for any other value (a stale,
   * forged or foreign handle, or not a number), and then nothing changes.
   */
  redeem(handle: number): number {
    // typeof first, so that `&` calls no valueOf; the word comparison refuses everything else.
    if (typeof handle !== 'number') return -1;
    const entry = handle & MASK;
    const word = this.word;
    if (word[entry] !== handle) return -1;
    word[entry] = ~(handle < LAST_HANDLE ? handle + ONE_TAG : ONE_TAG | entry);
    this.free[this.freeTop++] = entry;
    return this.location[entry]!;
  }

  /** True when this table gave out `handle` (live or released since): its entry exists and its tag lies between the entry's first and now. */
  wasIssued(handle: number): boolean {
    if (typeof handle !== 'number' || (handle | 0) !== handle || handle < 0) return false;
    const entry = handle & MASK;
    const tag = handle >>> ENTRY_BITS;
    if (entry >= this.made || tag < 1 || tag > TAG_MAX) return false;
    const first = firstTag(this.key, entry);
    const since = (x: number) => (x - first + TAG_MAX) % TAG_MAX;
    const word = this.word[entry]!;
    const current = tagOfWord(word);
    return word >= 0 ? since(tag) <= since(current) : since(tag) < since(current);
  }

  /**
   * What an issued handle names (pre: wasIssued(handle)): `live` true and its location while
   * it is; for a released handle whose entry was not used since, the location it had (live
   * false); -1 when its entry was used again since.
   */
  locationOf(handle: number): { live: boolean; location: number } {
    const entry = handle & MASK;
    const word = this.word[entry]!;
    const location = this.location[entry]!;
    if (word >= 0) return { live: word === handle, location: word === handle ? location : -1 };
    const tag = handle >>> ENTRY_BITS;
    const next = tag === TAG_MAX ? 1 : tag + 1;
    return { live: false, location: next === tagOfWord(word) ? location : -1 };
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
      if (this.word[e]! >= 0) throw new Error(`riopool invariant broken: handle entry ${e} both free and in use`);
      onStack.add(e);
    }
    for (let e = 0; e < this.word.length; e++) {
      const word = this.word[e]!;
      if (e < this.made) {
        if (word < 0 && !onStack.has(e)) throw new Error(`riopool invariant broken: handle entry ${e} is lost`);
        const tag = tagOfWord(word);
        if (tag < 1 || tag > TAG_MAX || ((word >= 0 ? word : ~word) & MASK) !== e)
          throw new Error(`riopool invariant broken: handle entry ${e} has word ${word}`);
      } else if (word !== ~e) {
        throw new Error(`riopool invariant broken: handle entry ${e} past the made ones is not ~${e}`);
      }
    }
  }
}
