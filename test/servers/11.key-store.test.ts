// The example's key store (examples/key-store.ts) on its own: against a Map by string as the model,
// with keys at any offset of the buffer they arrive in, short and long, and with hashes that
// collide (all keys in one chain, then past it), as a peer sending crafted keys would make them.
import fc from 'fast-check';
import { KeyStore } from '../../examples/key-store';
import { propertyParams } from '../support';

type Op = { kind: 'set' | 'get' | 'delete'; key: Uint8Array; pad: number; value: number };

/** Keys from a small alphabet (so operations meet each other's keys), some longer than 64 bytes. */
const key = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 6 }).map((a) => a.map((x) => x % 4)),
  fc.uint8Array({ minLength: 65, maxLength: 70 }).map((a) => a.map((x) => x % 2)),
);
/** 21 short keys: with a colliding hash, chains fill, overflow, empty and refill often. */
const fewKeys = fc.uint8Array({ minLength: 0, maxLength: 2 }).map((a) => a.map((x) => x % 4));
const opsOn = (keys: fc.Arbitrary<Uint8Array>) =>
  fc.array(
    fc.record({ kind: fc.constantFrom('set', 'get', 'delete'), key: keys, pad: fc.nat(7), value: fc.nat(1000) }) as fc.Arbitrary<Op>,
    { maxLength: 300 },
  );
const ops = opsOn(key);

/** Runs `ops` on a store and on a Map by latin1 string; each answer and the size must agree. */
function agrees(store: KeyStore, list: Op[]): void {
  const model = new Map<string, Buffer>();
  for (const op of list) {
    // The key sits at `pad` in a buffer with other bytes around it, as in a received request.
    const b = Buffer.alloc(op.pad + op.key.length + 3, 0xff);
    b.set(op.key, op.pad);
    const [start, end] = [op.pad, op.pad + op.key.length];
    const name = Buffer.from(op.key).toString('latin1');
    if (op.kind === 'set') {
      const value = Buffer.from(String(op.value));
      store.set(b, start, end, value);
      model.set(name, value);
      b.fill(0xee); // the store keeps its own copy of the key
    } else if (op.kind === 'get') {
      expect(store.get(b, start, end)).toBe(model.get(name));
    } else {
      expect(store.delete(b, start, end)).toBe(model.delete(name));
    }
    expect(store.size).toBe(model.size);
  }
  for (const [name, value] of model) {
    const b = Buffer.from(name, 'latin1');
    expect(store.get(b, 0, b.length)).toBe(value);
  }
}

test('a KeyStore answers as a Map by string', () => {
  fc.assert(
    fc.property(ops, (list) => agrees(new KeyStore(), list)),
    propertyParams('KeyStore vs Map', 300),
  );
});

test('with every key in one chain (a flood of colliding keys): the same answers, and keys past 8 go to the overflow', () => {
  fc.assert(
    fc.property(fc.oneof(ops, opsOn(fewKeys)), (list) => agrees(new KeyStore(() => 7), list)),
    propertyParams('KeyStore, colliding hash', 300),
  );
  const store = new KeyStore(() => 7);
  for (let i = 0; i < 100; i++) store.set(Buffer.from(`k${i}`), 0, `k${i}`.length, Buffer.from(`v${i}`));
  expect(store.overflowed).toBe(92);
  expect(store.get(Buffer.from('k99'), 0, 3)?.toString()).toBe('v99');
  // A key in the overflow stays there when its chain has room again: set once, counted once.
  expect(store.delete(Buffer.from('k0'), 0, 2)).toBe(true);
  store.set(Buffer.from('k99'), 0, 3, Buffer.from('again'));
  expect(store.size).toBe(99);
  expect(store.delete(Buffer.from('k99'), 0, 3)).toBe(true);
  expect(store.get(Buffer.from('k99'), 0, 3)).toBeUndefined();
});

test('with a hash that only sees the length: chains and overflow mix, deletes from the middle of a chain', () => {
  fc.assert(
    fc.property(ops, (list) => agrees(new KeyStore((_b, start, end) => end - start), list)),
    propertyParams('KeyStore, length hash', 300),
  );
});

test('a key past its time is gone for every lookup, and sweep() removes the ones nobody looks up', () => {
  const store = new KeyStore();
  const key = (s: string) => [Buffer.from(s), 0, s.length] as const;
  const past = Date.now() - 1;
  const later = Date.now() + 100_000;
  store.set(...key('gone'), Buffer.from('v'), past);
  store.set(...key('kept'), Buffer.from('v'), later);
  store.set(...key('forever'), Buffer.from('v'));
  expect(store.expiring).toBe(2);
  expect(store.get(...key('gone'))).toBeUndefined();
  expect(store.entry(...key('kept'))?.expiresAt).toBe(later);
  expect(store.size).toBe(2);
  // Nobody looks these up: only a sweep removes them, a bounded number a call.
  for (let i = 0; i < 10; i++) store.set(...key(`unread${i}`), Buffer.from('v'), past);
  expect(store.size).toBe(12);
  // 11 keys with a time (one still has its time): 4 looked at a call, then round again.
  const calls = Array.from({ length: 4 }, () => store.sweep(Date.now(), 4));
  expect(calls).toEqual([3, 4, 3, 0]);
  const swept = calls.reduce((a, b) => a + b);
  expect(swept).toBe(10);
  expect(store.size).toBe(2);
  expect(store.expiring).toBe(1);
  // A time taken away (PERSIST) or set again (SET without KEEPTTL): the sweep leaves the key.
  const kept = store.entry(...key('kept'))!;
  store.setExpiry(kept, 0);
  expect(store.expiring).toBe(0);
  expect(store.sweep(Number.MAX_SAFE_INTEGER)).toBe(0);
  expect(store.get(...key('kept'))?.toString()).toBe('v');
  store.clear();
  expect(store.size).toBe(0);
});

test('keys with times in colliding chains and past them: removed from wherever they are', () => {
  const store = new KeyStore(() => 7);
  const past = Date.now() - 1;
  for (let i = 0; i < 20; i++) store.set(Buffer.from(`k${i}`), 0, `k${i}`.length, Buffer.from(`v${i}`), i % 2 ? past : 0);
  expect(store.overflowed).toBe(12);
  expect(store.sweep(Date.now())).toBe(10);
  expect(store.size).toBe(10);
  for (let i = 0; i < 20; i++) expect(store.get(Buffer.from(`k${i}`), 0, `k${i}`.length)?.toString()).toBe(i % 2 ? undefined : `v${i}`);
});
