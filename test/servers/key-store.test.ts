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
