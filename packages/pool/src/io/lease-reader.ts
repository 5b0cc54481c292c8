/**
 * Receiving from node:net straight into pool leases: the `onread` option of a net.Socket whose
 * buffers are leases of an allocator, and the re-wrapping of an accepted socket so that it has
 * one. The public helpers in net.ts and the net datapath (datapath-net.ts) are both built on it.
 *
 * libuv keeps a raw pointer to the lease that waits for the next read, so that lease is released
 * only when the socket has closed (attachReader): there is deliberately no way to release it
 * earlier.
 */
import * as net from 'node:net';
import { RioError, invalidOption, isInstance, type Lease, type Allocator } from '@riopool/core';

export interface LeaseReader {
  buffer: () => Uint8Array;
  callback: (nread: number, buf: Uint8Array) => boolean | void;
}

/** How attachReader releases the waiting lease; kept out of the public surface. */
const disposers = new WeakMap<LeaseReader, () => void>();

/** A reader whose every read lands in a fresh lease of `size` bytes, handed to `onLease`. Pre: size is valid. */
export function readerOn(alloc: Allocator, size: number, onLease: (lease: Lease, nread: number) => boolean | void): LeaseReader {
  let waiting: Lease | undefined;
  let disposed = false;
  const reader: LeaseReader = {
    buffer: () => {
      if (disposed) return new Uint8Array(0);
      try {
        waiting = alloc.acquire(size);
      } catch {
        // Node calls this from its read callback, where a throw is uncaught: a pool that is
        // closed (or out of memory) gives an empty buffer instead, which ends the read with
        // ENOBUFS, an 'error' on the socket (docs/api.md, "Errors after an asynchronous boundary").
        return new Uint8Array(0);
      }
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
  if (!isInstance(socket, net.Socket)) throw invalidOption('attachReader', 'socket', socket, 'must be a net.Socket');
  if (!disposers.has(reader)) throw invalidOption('attachReader', 'reader', reader, "must be leaseReader()'s result");
  socket.once('close', () => disposers.get(reader)?.());
  return socket;
}

/**
 * Re-wraps a socket accepted by a net.Server created with `pauseOnConnect: true` so that it
 * reads into pool leases. Returns the new socket; use it instead of the accepted one.
 */
export function adoptSocket(accepted: net.Socket, reader: LeaseReader): net.Socket {
  // Everything is checked before the handle is taken: a refused call leaves the socket as it was.
  if (!isInstance(accepted, net.Socket)) throw invalidOption('adoptSocket', 'accepted', accepted, 'must be a net.Socket');
  if (!disposers.has(reader)) throw invalidOption('adoptSocket', 'reader', reader, "must be leaseReader()'s result");
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
