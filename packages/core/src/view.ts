/**
 * The views a pool hands out (lease.bytes, pool.view): Node Buffers over slab memory, made as
 * cheaply as a plain Uint8Array view.
 *
 * Node code expects Buffers (`.toString('utf8')`, `.write()`, `.readUInt32BE()`, `Buffer.concat`),
 * and a Buffer is a Uint8Array whose prototype is Buffer.prototype. `Buffer.from(arrayBuffer,
 * offset, length)` makes one without copying, but it validates its arguments first and took twice
 * the time of `new Uint8Array(arrayBuffer, offset, length)` (Node 24: 54-67 against 23-32 ns per
 * view). SlabBytes is Node's own recipe for its internal FastBuffer: a class that extends Uint8Array
 * and whose instances inherit Buffer.prototype, so constructing one is constructing a Uint8Array
 * (28-45 ns). Its `constructor` is Buffer, so `util.inspect` prints `<Buffer ...>` and what
 * Uint8Array methods make from it (subarray, map) are Node's Buffers too.
 *
 * What that means for users: `Buffer.isBuffer(lease.bytes)` is true, and `slice()` is Buffer's,
 * a view over the same bytes rather than Uint8Array's copy (copy with `Buffer.from(lease.bytes)`).
 * This file uses Node's `Buffer` global and nothing else: core still does no I/O and loads no addon.
 */

/** A Buffer over [offset, offset + length) of `buffer`, without copying. */
export class SlabBytes extends Uint8Array {}
Object.setPrototypeOf(SlabBytes.prototype, Buffer.prototype);
Object.defineProperty(SlabBytes.prototype, 'constructor', { value: Buffer, writable: true, configurable: true, enumerable: false });

/** A Buffer view over bytes of `buffer` (no copy). */
export function bytesView(buffer: ArrayBuffer, offset: number, length: number): Buffer {
  return new SlabBytes(buffer, offset, length) as unknown as Buffer;
}
