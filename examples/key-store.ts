/**
 * The example server's keys and values, looked up by the key's bytes where they were received: a
 * request makes no key string (a string per request, and V8 hashing it, cost more than the rest
 * of a GET). A key's bytes are copied once, when it is first stored.
 *
 * Entries sit in chains under a 32-bit hash of their bytes, seeded per process, in a Map from hash
 * to chain. A peer cannot make the store slow by sending keys that collide: a chain holds at most
 * MAX_CHAIN keys, and a key that would make it longer goes to a Map by string (V8 seeds its own
 * string hash), which lookups try only while it holds anything.
 *
 * Expiry, as redis-server does it: a key past its time is gone for every lookup (checked when it
 * is looked up), and sweep() removes such keys that nobody looks up, a bounded number per call,
 * walking the keys that have a time round and round.
 */
import { randomInt } from 'node:crypto';

const MAX_CHAIN = 8;
/** Keys up to this long are compared byte by byte in JavaScript; longer ones with Buffer.compare. */
const SHORT_KEY = 64;

/** A stored key. `expiresAt`: when it goes, in Date.now() milliseconds; 0: never. */
export interface Entry {
  readonly key: Buffer;
  value: Buffer;
  readonly expiresAt: number;
}

interface Node extends Entry {
  expiresAt: number;
  next: Node | undefined;
}

/**
 * FNV-1a over bytes [start, end), from a random seed, cut to 30 bits: a small integer (a Smi),
 * which V8 keeps in the Map without allocating a number per lookup.
 */
function seededHash(seed: number): (b: Buffer, start: number, end: number) => number {
  return (b, start, end) => {
    let h = seed ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    return (h ^ (h >>> 15)) & 0x3fffffff;
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
  readonly #chains = new Map<number, Node>();
  /** Keys past a full chain, by their latin1 string. */
  readonly #overflow = new Map<string, Node>();
  readonly #hash: (b: Buffer, start: number, end: number) => number;
  /** The entries that have a time, and where sweep() stopped in them (a Set's iterator sees later additions). */
  readonly #expiring = new Set<Node>();
  #sweeping: Iterator<Node> | undefined;
  #size = 0;

  /** `hash` is for tests (one that collides, to fill chains); the default is seeded per process. */
  constructor(hash = seededHash(randomInt(2 ** 32) | 0)) {
    this.#hash = hash;
  }

  /** Keys stored (keys past their time that no lookup or sweep has removed yet included). */
  get size(): number {
    return this.#size + this.#overflow.size;
  }

  /** Keys that have a time. */
  get expiring(): number {
    return this.#expiring.size;
  }

  /** Keys that went past a full chain (a flood of colliding keys, or a hash's bad luck). */
  get overflowed(): number {
    return this.#overflow.size;
  }

  /** The value of key b[start, end). */
  get(b: Buffer, start: number, end: number): Buffer | undefined {
    return this.entry(b, start, end)?.value;
  }

  /** The entry of key b[start, end), unless it is missing or past its time (then it is removed). */
  entry(b: Buffer, start: number, end: number): Entry | undefined {
    let found: Node | undefined;
    for (let e = this.#chains.get(this.#hash(b, start, end)); e !== undefined; e = e.next) {
      if (same(e.key, b, start, end)) {
        found = e;
        break;
      }
    }
    if (found === undefined && this.#overflow.size > 0) found = this.#overflow.get(b.toString('latin1', start, end));
    if (found !== undefined && found.expiresAt !== 0 && found.expiresAt <= Date.now()) {
      this.#remove(found);
      return undefined;
    }
    return found;
  }

  /** Sets key b[start, end) to `value` (kept as it is, not copied), to expire at `expiresAt` (0: never). */
  set(b: Buffer, start: number, end: number, value: Buffer, expiresAt = 0): Entry {
    const h = this.#hash(b, start, end);
    const head = this.#chains.get(h);
    let length = 0;
    let found: Node | undefined;
    for (let e = head; e !== undefined && found === undefined; e = e.next, length++) if (same(e.key, b, start, end)) found = e;
    if (found === undefined && this.#overflow.size > 0) found = this.#overflow.get(b.toString('latin1', start, end));
    if (found !== undefined) {
      found.value = value;
      this.setExpiry(found, expiresAt);
      return found;
    }
    const key = Buffer.allocUnsafe(end - start);
    key.set(new Uint8Array(b.buffer, b.byteOffset + start, end - start)); // a builtin: copy() crosses into C++
    const node: Node = { key, value, expiresAt: 0, next: undefined };
    if (length >= MAX_CHAIN) {
      this.#overflow.set(key.toString('latin1'), node);
    } else {
      node.next = head;
      this.#chains.set(h, node);
      this.#size++;
    }
    this.setExpiry(node, expiresAt);
    return node;
  }

  /** Gives a stored entry a new time (0: never). */
  setExpiry(entry: Entry, expiresAt: number): void {
    const node = entry as Node;
    if (expiresAt === 0 && node.expiresAt === 0) return; // most SETs: no time before or after
    node.expiresAt = expiresAt;
    if (expiresAt === 0) this.#expiring.delete(node);
    else this.#expiring.add(node);
  }

  /** Deletes key b[start, end); true if it was there (and not past its time). */
  delete(b: Buffer, start: number, end: number): boolean {
    const e = this.entry(b, start, end);
    if (e !== undefined) this.#remove(e as Node);
    return e !== undefined;
  }

  /** Removes every key. */
  clear(): void {
    this.#chains.clear();
    this.#overflow.clear();
    this.#expiring.clear();
    this.#sweeping = undefined;
    this.#size = 0;
  }

  /** Looks at up to `budget` keys that have a time, removing those past it at `now`; returns how many went. */
  sweep(now: number, budget = 1000): number {
    let removed = 0;
    this.#sweeping ??= this.#expiring.values();
    for (let i = 0; i < budget; i++) {
      const next = this.#sweeping.next();
      if (next.done) {
        this.#sweeping = undefined; // round again next call
        break;
      }
      if (next.value.expiresAt <= now) {
        this.#remove(next.value);
        removed++;
      }
    }
    return removed;
  }

  #remove(node: Node): void {
    this.#expiring.delete(node);
    const name = this.#overflow.size > 0 ? node.key.toString('latin1') : '';
    if (this.#overflow.get(name) === node) {
      this.#overflow.delete(name);
      return;
    }
    const h = this.#hash(node.key, 0, node.key.length);
    for (let e = this.#chains.get(h), before: Node | undefined; e !== undefined; before = e, e = e.next) {
      if (e !== node) continue;
      if (before !== undefined) before.next = e.next;
      else if (e.next !== undefined) this.#chains.set(h, e.next);
      else this.#chains.delete(h);
      this.#size--;
      return;
    }
  }
}
