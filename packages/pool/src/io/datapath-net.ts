/**
 * The `net` datapath: connections over node:net, receiving straight into pool leases
 * (lease-reader.ts: a lease of receiveSize waits for each read, and the sink gets a slice of the
 * bytes read) and sending from them (a turn's writes corked into one writev). Used where
 * io_uring cannot run (another OS, an old kernel, io_uring disabled, a backend that is not
 * `uring`), and said so in stats().io.
 */
import * as net from 'node:net';
import { RioError, type Allocator } from '@riopool/core';
import { onAbort } from '../abort';
import { adoptSocket, attachReader, readerOn, type LeaseReader } from './lease-reader';
import {
  netError,
  type Chunk,
  type Io,
  type IoStats,
  type Listener,
  type ListenRequest,
  type ReceiveMode,
  type Transport,
  type TransportOptions,
  type TransportSink,
  type SocketAddresses,
} from './transport';

/** One node:net socket, reading into leases. */
class NetTransport implements Transport {
  readonly datapath = 'net' as const;
  readonly reader: LeaseReader;
  #socket: net.Socket | undefined;
  #sink: TransportSink | undefined;
  #closing = false;

  constructor(alloc: Allocator, receiveSize: number) {
    this.reader = readerOn(alloc, receiveSize, (lease, nread) => {
      const slice = lease.slice(0, nread);
      lease.release();
      this.#sink!.data(slice);
    });
  }

  /** Takes the socket that reads with `this.reader` (attached to it: its close releases the reader's lease). */
  attach(socket: net.Socket): this {
    socket.setNoDelay(true);
    this.#socket = socket;
    return this;
  }

  addresses(): Partial<SocketAddresses> {
    const s = this.#socket;
    if (s === undefined) return {};
    const family = s.remoteFamily;
    return {
      localAddress: s.localAddress,
      localPort: s.localPort,
      remoteAddress: s.remoteAddress,
      remotePort: s.remotePort,
      remoteFamily: family === 'IPv4' || family === 'IPv6' ? family : undefined,
    };
  }

  setNoDelay(noDelay: boolean): void {
    this.#socket?.setNoDelay(noDelay);
  }

  setKeepAlive(enable: boolean, initialDelay: number): void {
    this.#socket?.setKeepAlive(enable, initialDelay);
  }

  start(sink: TransportSink): void {
    this.#sink = sink;
    const socket = this.#socket!;
    socket.on('end', () => sink.end());
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!this.#closing) sink.error(netError(e.code, e.message, e));
    });
  }

  pause(): void {
    this.#socket?.pause();
  }

  resume(): void {
    this.#socket?.resume();
  }

  schedule(callback: () => void): void {
    queueMicrotask(callback);
  }

  /** The chunks corked into one writev; done once the last write is called back. */
  send(chunks: readonly Chunk[], done: (sent: number, error?: RioError) => void): void {
    const socket = this.#socket!;
    let total = 0;
    let settled = false;
    const finish = (e?: Error | null) => {
      if (settled) return;
      if (e) {
        settled = true;
        done(0, netError((e as NodeJS.ErrnoException).code, e.message, e));
      } else if (--pending === 0) {
        settled = true;
        done(total);
      }
    };
    let pending = chunks.length;
    if (chunks.length > 1) socket.cork();
    for (const c of chunks) {
      total += c.length;
      socket.write(c.lease.bytes.subarray(c.start, c.start + c.length), finish);
    }
    if (chunks.length > 1) socket.uncork();
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

class NetIo implements Io {
  readonly datapath = 'net' as const;

  constructor(
    private readonly alloc: Allocator,
    readonly reason: string,
  ) {}

  stats(): IoStats {
    return {
      datapath: 'net',
      reason: this.reason,
      opsInFlight: 0,
      submitCalls: 0,
      opsSubmitted: 0,
      completionBatches: 0,
      receive: 'lease',
      receiveReason: 'node:net reads into a lease of receiveSize per connection',
      ring: null,
      coalescedSends: 0,
    };
  }

  checkReceive(receive: ReceiveMode | 'auto'): void {
    if (receive === 'ring') throw new RioError('ERR_RIO_DATAPATH', "receive: 'ring' needs the uring datapath; this pool runs net");
  }

  decay(): void {}

  close(): void {}

  listen({ host, port, backlog, options, accepted, failed }: ListenRequest): Promise<Listener> {
    // allowHalfOpen: the Connection, not node:net, decides when to end its side (connection.ts).
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
      const t = new NetTransport(this.alloc, options.receiveSize);
      accepted(t.attach(adoptSocket(socket, t.reader)));
    });
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(netError(e.code, `listen: ${e.message}`, e)));
      server.listen({ port, host, backlog }, () => {
        server.on('error', (e: NodeJS.ErrnoException) => failed(netError(e.code, e.message, e)));
        const address = { port: (server.address() as net.AddressInfo).port, host };
        resolve({ address, stop: () => new Promise<void>((r) => server.close(() => r())) });
      });
    });
  }

  connect(host: string, port: number, options: TransportOptions, signal?: AbortSignal): Promise<Transport> {
    return new Promise((resolve, reject) => {
      const t = new NetTransport(this.alloc, options.receiveSize);
      const onread = { buffer: t.reader.buffer, callback: t.reader.callback } as net.OnReadOpts;
      // Node asks the reader for its first buffer (a lease) at once: attached now, the socket's
      // close releases it whether the connect succeeds, fails or is aborted.
      const socket = attachReader(net.connect({ host, port, onread, allowHalfOpen: true }), t.reader);
      const failed = (e: NodeJS.ErrnoException) => {
        forget?.();
        socket.destroy();
        reject(netError(e.code, `connect ${host}:${port}: ${e.message}`, e));
      };
      // Aborted: the socket closes now (its promise rejects; connect() has rejected already).
      const forget =
        signal === undefined ? undefined : onAbort(signal, () => failed(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' })));
      socket.once('error', failed);
      socket.once('connect', () => {
        forget?.();
        socket.off('error', failed);
        resolve(t.attach(socket));
      });
    });
  }
}

/** The net datapath on an allocator's leases; `reason` says why it is the one. */
export function openNetIo(alloc: Allocator, reason: string): Io {
  return new NetIo(alloc, reason);
}
