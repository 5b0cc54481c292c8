/**
 * node:net helpers: receive into pool leases, send from them.
 *
 * Receive: `leaseReader(pool, size, onLease)` returns the `onread` option of net.Socket /
 * net.connect. Node reads straight into a lease's bytes; each read hands that lease to
 * `onLease(lease, nread)`, which then owns it (release it when done), and the next read gets a
 * fresh lease. libuv keeps a raw pointer to the lease that waits for the next read, so that
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
import { RioError, Lease } from '@riopool/core';
import { allocatorOf, type Pool } from './pool';

export interface LeaseReader {
  buffer: () => Uint8Array;
  callback: (nread: number, buf: Uint8Array) => boolean | void;
}

/** How attachReader releases the waiting lease; kept out of the public surface. */
const disposers = new WeakMap<LeaseReader, () => void>();

export function leaseReader(pool: Pool, size: number, onLease: (lease: Lease, nread: number) => boolean | void): LeaseReader {
  const maxLength = allocatorOf(pool).maxLength; // throws a TypeError for a value that is not a pool
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > maxLength) {
    throw new RioError('ERR_RIO_INVALID_LENGTH', `leaseReader: size must be an integer from 1 to ${maxLength}`);
  }
  if (typeof onLease !== 'function') throw new RioError('ERR_RIO_INVALID_OPTION', 'leaseReader: onLease must be a function');
  let waiting: Lease | undefined;
  let disposed = false;
  const reader: LeaseReader = {
    buffer: () => {
      if (disposed) return new Uint8Array(0);
      waiting = pool.acquire(size);
      return waiting.bytes;
    },
    callback: (nread: number) => {
      const lease = waiting!;
      waiting = undefined;
      return onLease(lease, nread);
    },
  };
  disposers.set(reader, () => {
    disposed = true;
    waiting?.release();
    waiting = undefined;
  });
  return reader;
}

/** Ties a reader to its socket: the waiting lease is released once the socket has closed. */
export function attachReader(socket: net.Socket, reader: LeaseReader): net.Socket {
  socket.once('close', () => disposers.get(reader)?.());
  return socket;
}

/**
 * Re-wraps a socket accepted by a net.Server created with `pauseOnConnect: true` so that it
 * reads into pool leases. Returns the new socket; use it instead of the accepted one.
 */
export function adoptSocket(accepted: net.Socket, reader: LeaseReader): net.Socket {
  const raw = accepted as net.Socket & { _handle?: unknown };
  const handle = raw._handle;
  if (handle === undefined || handle === null) {
    throw new RioError('ERR_RIO_BACKEND', 'adoptSocket: this Node version does not expose the socket handle');
  }
  raw._handle = null;
  const socket = new net.Socket({
    handle,
    readable: true,
    writable: true,
    // As the server made it: a server created with allowHalfOpen keeps adopted sockets half open.
    allowHalfOpen: accepted.allowHalfOpen,
    onread: { buffer: reader.buffer, callback: reader.callback },
  } as net.SocketConstructorOpts);
  attachReader(socket, reader);
  // The emptied original must still close: it holds the server's connection count, and
  // server.close() waits for it. (The adopted socket is then the caller's to end.)
  accepted.destroy();
  socket.resume();
  return socket;
}

/**
 * Writes the first `length` bytes of a lease. Holds one reference while the write is in
 * flight and drops it in the write callback, on success and on error.
 */
export function writeLease(socket: net.Socket, lease: Lease, length: number = lease.length, cb?: (err?: Error | null) => void): boolean {
  if (!(socket instanceof net.Socket)) throw new RioError('ERR_RIO_INVALID_OPTION', 'writeLease: socket must be a net.Socket');
  if (!(lease instanceof Lease)) throw new RioError('ERR_RIO_INVALID_BUFFER', 'writeLease: not a lease of a riopool pool');
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > lease.length) {
    throw new RioError('ERR_RIO_INVALID_LENGTH', `writeLease: length must be an integer from 1 to ${lease.length}`);
  }
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
