/**
 * The example server's keys and values, looked up by the key's bytes where they were received: a
 * request makes no key string (a string per request, and V8 hashing it, cost more than the rest
 * of a GET). A key's bytes are copied once, when it is first stored.
 *
 * Entries sit in chains under a 32-bit hash of their bytes, seeded per process, in a Map from hash
 * to chain. A peer cannot make the store slow by sending keys that collide: a chain holds at most
 * MAX_CHAIN keys, and a key that would make it longer goes to a Map by string (V8 seeds its own
 * string hash), which lookups try only while it holds anything.
 */
import { randomInt } from 'node:crypto';

const MAX_CHAIN = 8;
/** Keys up to this long are compared byte by byte in JavaScript; longer ones with Buffer.compare. */
const SHORT_KEY = 64;

interface Entry {
  readonly key: Buffer;
  value: Buffer;
  next: Entry | undefined;
}

/** FNV-1a over bytes [start, end), from a random seed. */
function seededHash(seed: number): (b: Buffer, start: number, end: number) => number {
  return (b, start, end) => {
    let h = seed ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    return h ^ (h >>> 15);
  };
}

function same(key: Buffer, b: Buffer, start: number, end: number): boolean {
  const n = end - start;
  if (key.length !== n) return false;
  if (n > SHORT_KEY) return b.compare(key, 0, n, start, end) === 0;
  for (let i = 0; i < n; i++) if (key[i] !== b[start + i]) return false;
  return true;
}

export class KeyStore {
  readonly #chains = new Map<number, Entry>();
  /** Keys past a full chain, by their latin1 string. */
  readonly #overflow = new Map<string, Buffer>();
  readonly #hash: (b: Buffer, start: number, end: number) => number;
  #size = 0;

  /** `hash` is for tests (one that collides, to fill chains); the default is seeded per process. */
  constructor(hash = seededHash(randomInt(2 ** 32) | 0)) {
    this.#hash = hash;
  }

  /** Keys stored. */
  get size(): number {
    return this.#size + this.#overflow.size;
  }

  /** Keys that went past a full chain (a flood of colliding keys, or a hash's bad luck). */
  get overflowed(): number {
    return this.#overflow.size;
  }

  /** The value of key b[start, end). */
  get(b: Buffer, start: number, end: number): Buffer | undefined {
    for (let e = this.#chains.get(this.#hash(b, start, end)); e !== undefined; e = e.next) if (same(e.key, b, start, end)) return e.value;
    return this.#overflow.size === 0 ? undefined : this.#overflow.get(b.toString('latin1', start, end));
  }

  /** Sets key b[start, end) to `value` (kept as it is, not copied). */
  set(b: Buffer, start: number, end: number, value: Buffer): void {
    const h = this.#hash(b, start, end);
    const head = this.#chains.get(h);
    let length = 0;
    for (let e = head; e !== undefined; e = e.next, length++) {
      if (same(e.key, b, start, end)) {
        e.value = value;
        return;
      }
    }
    if (length >= MAX_CHAIN || (this.#overflow.size > 0 && this.#overflow.has(b.toString('latin1', start, end)))) {
      this.#overflow.set(b.toString('latin1', start, end), value);
      return;
    }
    const key = Buffer.allocUnsafe(end - start);
    b.copy(key, 0, start, end);
    this.#chains.set(h, { key, value, next: head });
    this.#size++;
  }

  /** Deletes key b[start, end); true if it was there. */
  delete(b: Buffer, start: number, end: number): boolean {
    const h = this.#hash(b, start, end);
    for (let e = this.#chains.get(h), before: Entry | undefined; e !== undefined; before = e, e = e.next) {
      if (!same(e.key, b, start, end)) continue;
      if (before !== undefined) before.next = e.next;
      else if (e.next !== undefined) this.#chains.set(h, e.next);
      else this.#chains.delete(h);
      this.#size--;
      return true;
    }
    return this.#overflow.size > 0 && this.#overflow.delete(b.toString('latin1', start, end));
  }
}
