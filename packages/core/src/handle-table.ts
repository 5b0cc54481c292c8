/**
 * HandleTable: the low-level path's handles (acquireInto / releaseHandle). A handle names one
 * leased slot until it is released; a stale handle (released already), a forged one (any other
 * number) and a foreign one (another pool's) name nothing, so releasing one frees nothing.
 *
 * Notation
 *   entry        a row of the table: four int32 cells, at (entry << 2) in `cells`:
 *                  WORD      its live handle while in use; ~(its next handle) while free; ~entry
 *                            before it is made. A handle is live exactly when it equals its WORD.
 *                  LOCATION  the slot its handle names (kept after the release, for describeHandle)
 *                  NEXT      while free: the cell index of the next free entry, or -1
 *                  (one cell unused: a stride of 4 is a shift)
 *   location     slab id << SLOT_BITS | slot (handle.ts): 31 bits, >= 0
 *   tag          1 .. TAG_MAX (11 bits); an entry's tag moves on (wrapping to 1) at every release
 *   handle       tag << ENTRY_BITS | entry: a positive integer below 2^31
 *   freeHead     the cell index of the first free entry (a stack threaded through NEXT), or -1
 *
 * A handle is an int32, which V8 keeps as a small integer: a handle carried through a call that
 * is not inlined is never boxed, so the low-level path makes no garbage (a handle with the slot's
 * 22-bit generation in it was a double, and 10 million pairs made 38 to 76 collections).
 *
 * issue(location)  pop the first free entry; its handle is ~WORD; WORD = handle, LOCATION =
 *                  location, return the handle
 * redeem(handle)   entry = handle & MASK; live when its WORD === handle (one comparison: a free
 *                  entry's word is negative, a never-made one's low bits are not its index, and no int32 word equals a
 *                  non-integer or a value past 2^31); then WORD = ~(the next tag's handle), push
 *                  the entry on the free list, return LOCATION. Anything else throws a RioError
 *                  and changes nothing.
 *
 * Invariants (checkTable, run by tests):
 *   entries [0, made) are each either in use (word >= 0, its low bits its index) or on the free
 *   list (word < 0), once; entries [made, capacity) hold ~entry, then 0s, and are on neither;
 *   every made entry's tag is in 1 .. TAG_MAX
 *
 * Why a stale handle misses: its entry's tag moved on at its release, so it names the entry
 * again only after TAG_MAX (2047) more releases of that very entry while the stale copy is kept.
 * Why a foreign handle misses: each table's tags start at a different point (its key), spread
 * per entry, so the same entry of two pools holds different tags (1 in 2047 alike by chance).
 * Why a forged one misses: only an entry's live handle equals its word. This is a check against
 * mistakes, not a secret against an adversary with the process's memory.
 *
 * Both operations are O(1) and touch one typed array (one array, not three: each typed array an
 * inlined access reaches costs V8 its own loads and bounds checks, docs/performance.md, 1c); the
 * table grows by doubling, up to 2^20 entries in use at once (ERR_RIO_POOL_EXHAUSTED past it).
 */
import { RioError, notAHandle } from './errors';
import { releasedError } from './lease';

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

/** An Int32Array of `n` cells holding `a`'s; each entry past them (not made) has WORD ~entry and 0 elsewhere. */
function grown(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  for (let at = a.length; at < n; at += 4) b[at] = ~(at >> 2);
  b.set(a);
  return b;
}

/** The tag of a made entry's word (in use or free). */
function tagOfWord(word: number): number {
  return (word >= 0 ? word : ~word) >>> SHIFT;
}

export class HandleTable {
  /** Four cells per entry (see the header): WORD, LOCATION, NEXT, unused. */
  private cells = grown(new Int32Array(0), FIRST_CAPACITY * 4);
  /** The cell index of the first free entry, or -1: issue() needs reserve() first (acquireInto checks it). */
  freeHead = -1;
  /** Entries made so far. */
  private made = 0;
  private readonly key: number;

  constructor() {
    tableKeys = (tableKeys + 1) % TAG_MAX;
    this.key = tableKeys;
  }

  /**
   * Makes one more entry and pushes it on the free list (the table doubles when every entry is
   * in use). Call before taking a slot when freeHead is -1: it may throw ERR_RIO_POOL_EXHAUSTED.
   */
  reserve(): void {
    const n = this.made;
    if (n >= MAX_ENTRIES) {
      throw new RioError('ERR_RIO_POOL_EXHAUSTED', `acquireInto: ${n} handles are outstanding, the most at once`);
    }
    if (n * 4 === this.cells.length) this.cells = grown(this.cells, n * 8);
    const at = n << 2;
    this.cells[at] = ~((firstTag(this.key, n) << SHIFT) | n);
    this.cells[at + 2] = this.freeHead;
    this.freeHead = at;
    this.made = n + 1;
  }

  /** A handle for `location` (>= 0). Pre: freeHead >= 0 (reserve()). */
  issue(location: number): number {
    const cells = this.cells;
    const at = this.freeHead;
    this.freeHead = cells[at + 2]!;
    const handle = ~cells[at]!;
    cells[at] = handle;
    cells[at + 1] = location;
    return handle;
  }

  /**
   * Frees a live handle and returns the location it named. Any other value (a stale, forged or
   * foreign handle, or not a number) throws and changes nothing: ERR_RIO_RELEASED for a handle
   * this table gave out and took back since, ERR_RIO_INVALID_BUFFER for anything else. Throws
   * rather than returning a sentinel: releaseHandle, its caller, then needs no test of its own
   * (bytecode the hot path's inlining budget would pay for: docs/performance.md, 1c).
   */
  redeem(handle: number): number {
    // typeof first, so that `&` calls no valueOf; the word comparison refuses everything else
    // (an entry past the table reads as undefined).
    const cells = this.cells;
    if (typeof handle !== 'number' || cells[(handle & MASK) << 2] !== handle) throw this.refused(handle);
    const at = (handle & MASK) << 2;
    cells[at] = ~(handle < LAST_HANDLE ? handle + ONE_TAG : ONE_TAG | (handle & MASK));
    cells[at + 2] = this.freeHead;
    this.freeHead = at;
    return cells[at + 1]!;
  }

  /** redeem's error for a value that is no live handle (off the hot path). */
  private refused(handle: unknown): RioError {
    return this.wasIssued(handle as number) ? releasedError('releaseHandle()') : notAHandle('releaseHandle', handle);
  }

  /** True when this table gave out `handle` (live or released since): its entry exists and its tag lies between the entry's first and now. */
  wasIssued(handle: number): boolean {
    if (typeof handle !== 'number' || (handle | 0) !== handle || handle < 0) return false;
    const entry = handle & MASK;
    const tag = handle >>> ENTRY_BITS;
    if (entry >= this.made || tag < 1 || tag > TAG_MAX) return false;
    const first = firstTag(this.key, entry);
    const since = (x: number) => (x - first + TAG_MAX) % TAG_MAX;
    const word = this.cells[entry << 2]!;
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
    const word = this.cells[entry << 2]!;
    const location = this.cells[(entry << 2) + 1]!;
    if (word >= 0) return { live: word === handle, location: word === handle ? location : -1 };
    const tag = handle >>> ENTRY_BITS;
    const next = tag === TAG_MAX ? 1 : tag + 1;
    return { live: false, location: next === tagOfWord(word) ? location : -1 };
  }

  /** The entries on the free list, in order (for inUse and checkTable: not the hot path). */
  private freeEntries(): number[] {
    const seen: number[] = [];
    for (let at = this.freeHead; at >= 0 && seen.length <= this.made; at = this.cells[at + 2]!) seen.push(at >> 2);
    return seen;
  }

  /** Handles in use now. */
  get inUse(): number {
    return this.made - this.freeEntries().length;
  }

  /** Throws an Error naming the first broken invariant of the table (see the header). */
  checkTable(): void {
    const onList = new Set<number>();
    for (let at = this.freeHead; at >= 0; at = this.cells[at + 2]!) {
      const e = at >> 2;
      if ((at & 3) !== 0 || e >= this.made || onList.has(e))
        throw new Error(`riopool invariant broken: handle entry ${e} on the free list twice or never made`);
      if (this.cells[at]! >= 0) throw new Error(`riopool invariant broken: handle entry ${e} both free and in use`);
      onList.add(e);
    }
    if (this.freeHead < -1) throw new Error(`riopool invariant broken: the free list ends in ${this.freeHead}`);
    for (let e = 0; e < this.cells.length >> 2; e++) {
      const word = this.cells[e << 2]!;
      if (e < this.made) {
        if (word < 0 && !onList.has(e)) throw new Error(`riopool invariant broken: handle entry ${e} is lost`);
        const tag = tagOfWord(word);
        if (tag < 1 || tag > TAG_MAX || ((word >= 0 ? word : ~word) & MASK) !== e)
          throw new Error(`riopool invariant broken: handle entry ${e} has word ${word}`);
      } else if (word !== ~e || this.cells.subarray((e << 2) + 1, (e << 2) + 4).some((c) => c !== 0)) {
        throw new Error(`riopool invariant broken: handle entry ${e} past the made ones is not ~${e}, 0, 0, 0`);
      }
    }
  }
}
