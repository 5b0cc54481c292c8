/**
 * node:net helpers: receive into pool leases, send from them.
 *
 * Receive: `leaseReader(pool, size, onLease)` returns the `onread` option of net.Socket /
 * net.connect. Node reads straight into a lease's bytes; each read hands that lease to
 * `onLease(lease, nread)`, which then owns it (release it when done), and the next read gets a
 * fresh lease (io/lease-reader.ts does the work, for these helpers and the net datapath). libuv keeps a raw pointer to the lease that waits for the next read, so that
 * lease is released only when the socket has closed: pass the socket to `attachReader` (or use
 * `adoptSocket`). There is deliberately no public way to release it earlier.
 *
 * Sockets a net.Server accepts take no `onread` option in Node 20; `adoptSocket` re-wraps an
 * accepted socket (the server must use `pauseOnConnect: true`) in a net.Socket that has one.
 * It moves the socket's libuv handle, which is reached through the `_handle` property: that is
 * not public API, and adoptSocket throws ERR_RIO_BACKEND if a Node version lacks it. The
 * server no longer counts the adopted socket: end it yourself before or after server.close().
 *
 * Send: `writeLease(socket, lease, length, cb)` retains the lease while the write is in flight
 * (the slab cannot be retired under the kernel's feet) and releases that reference in the write
 * callback, on success and on error. The caller's own reference is untouched.
 */
import * as net from 'node:net';
import { promisify } from 'node:util';
import { RioError, Lease, invalidOption, isInstance } from '@riopool/core';
import { readerOn, type LeaseReader } from './io/lease-reader';
import { allocatorOf, checkPool, type Pool } from './pool';

export { attachReader, adoptSocket, type LeaseReader } from './io/lease-reader';

export function leaseReader(pool: Pool, size: number, onLease: (lease: Lease, nread: number) => boolean | void): LeaseReader {
  checkPool('leaseReader', pool, true);
  const alloc = allocatorOf(pool);
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > alloc.maxLength) {
    throw new RioError('ERR_RIO_INVALID_LENGTH', `leaseReader: size must be an integer from 1 to ${alloc.maxLength}`);
  }
  if (typeof onLease !== 'function') throw new RioError('ERR_RIO_INVALID_OPTION', 'leaseReader: onLease must be a function');
  return readerOn(alloc, size, onLease);
}

/**
 * Writes the first `length` bytes of a lease. Holds one reference while the write is in
 * flight and drops it in the write callback, on success and on error.
 */
export function writeLease(socket: net.Socket, lease: Lease, length?: number, cb?: (err?: Error | null) => void): boolean {
  if (!isInstance(socket, net.Socket)) throw new RioError('ERR_RIO_INVALID_OPTION', 'writeLease: socket must be a net.Socket');
  if (!isInstance(lease, Lease)) throw new RioError('ERR_RIO_INVALID_BUFFER', 'writeLease: not a lease of a riopool pool');
  if (length === undefined) length = lease.length; // checked above: never read off a value that is not a lease
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > lease.length) {
    throw new RioError('ERR_RIO_INVALID_LENGTH', `writeLease: length must be an integer from 1 to ${lease.length}`);
  }
  if (cb !== undefined && typeof cb !== 'function') throw invalidOption('writeLease', 'cb', cb, 'must be a function');
  const bytes = lease.bytes.subarray(0, length); // throws ERR_RIO_RELEASED for a released lease
  lease.retain();
  let done = false;
  const finish = (err?: Error | null) => {
    if (done) return;
    done = true;
    lease.release();
    cb?.(err);
  };
  try {
    return socket.write(bytes, finish);
  } catch (e) {
    finish(e as Error);
    return false;
  }
}

/**
 * The promise form of writeLease: resolves once the socket has handed the bytes to the OS
 * (writeLease's callback without an error), rejects with the write's error (the socket's, or a
 * RioError for bad arguments: nothing is thrown). The lease is retained while the write is in
 * flight, as with writeLease; the caller's own reference is untouched, so releasing it right
 * after the call is fine. It does not wait for 'drain': await it to write with backpressure.
 * `util.promisify(writeLease)` is this function.
 */
export function writeLeaseAsync(socket: net.Socket, lease: Lease, length?: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      writeLease(socket, lease, length, (err) => (err ? reject(err) : resolve()));
    } catch (e) {
      reject(e);
    }
  });
}

Object.defineProperty(writeLease, promisify.custom, { value: writeLeaseAsync });
