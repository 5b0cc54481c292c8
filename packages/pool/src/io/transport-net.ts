/**
 * The `net` datapath: a connection over node:net, receiving straight into pool leases
 * (leaseReader) and sending from them. Used where io_uring cannot run (another OS, an old
 * kernel, io_uring disabled, a backend that is not `uring`), and said so in stats().io.
 */
import type * as net from 'node:net';
import type { Lease } from '@riopool/core';
import { attachReader, leaseReader, type LeaseReader } from '../net';
import type { Pool } from '../pool';
import { netError, type Transport, type TransportSink } from './connection';

export class NetTransport implements Transport {
  readonly datapath = 'net' as const;
  #socket: net.Socket | undefined;
  #closing = false;

  constructor(
    private readonly pool: Pool,
    private readonly receiveSize: number,
    /** Makes the socket, reading into the reader's leases. */
    private readonly open: (reader: LeaseReader) => net.Socket,
  ) {}

  start(sink: TransportSink): void {
    const reader = leaseReader(this.pool, this.receiveSize, (lease, nread) => sink.data(lease, nread));
    const socket = this.open(reader);
    attachReader(socket, reader);
    socket.setNoDelay(true);
    socket.on('end', () => sink.end());
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!this.#closing) sink.error(netError(e.code, e.message, e));
    });
    this.#socket = socket;
  }

  pause(): void {
    this.#socket?.pause();
  }

  resume(): void {
    this.#socket?.resume();
  }

  send(lease: Lease, start: number, length: number, done: (sent: number, error?: ReturnType<typeof netError>) => void): void {
    const bytes = lease.bytes.subarray(start, start + length);
    this.#socket!.write(bytes, (e?: Error | null) => {
      if (e) done(0, netError((e as NodeJS.ErrnoException).code, e.message, e));
      else done(length);
    });
  }

  shutdown(): void {
    this.#socket?.end();
  }

  close(done: () => void): void {
    const socket = this.#socket;
    this.#closing = true;
    if (socket === undefined || socket.closed) {
      queueMicrotask(done);
      return;
    }
    socket.once('close', () => done()); // after the waiting read lease and every write callback
    socket.destroy();
  }
}
