/**
 * The contract every datapath implements (datapath-uring.ts: operations on the pool's ring;
 * datapath-net.ts: node:net): an Io per pool, which listens and connects, and a Transport per
 * connected socket, on which connection.ts builds a Connection. Which datapath a pool runs is
 * decided in datapath.ts. Socket errors become RioErrors named as node:net names them
 * (ECONNRESET, EPIPE, ...): netError and errnoName, here and nowhere else.
 */
import * as os from 'node:os';
import { NetErrorCodes, RioError, type Lease, type NetErrorCode } from '@riopool/core';
import type { ReceiveRingStats } from './receive-ring';

export type Datapath = 'uring' | 'net';

export interface IoStats {
  /** The datapath in use, or 'none' before the first server or connection. */
  datapath: Datapath | 'none';
  /** Why this datapath (for 'net': why not uring). */
  reason: string;
  /** Operations in flight on the ring, submit calls and operations submitted (uring only). */
  opsInFlight: number;
  submitCalls: number;
  opsSubmitted: number;
  completionBatches: number;
  /**
   * Where receives land by default: 'ring', the pool's shared receive buffers (an idle
   * connection holds none), or 'lease', a lease of receiveSize per connection while it waits.
   */
  receive: ReceiveMode | 'none';
  /** Why (for 'lease': why not the ring). */
  receiveReason: string;
  /** The shared receive buffers, where the ring runs. */
  ring: ReceiveRingStats | null;
  /** Sends that carried more than one write of a connection (a turn's writes in one operation). */
  coalescedSends: number;
}

/** Where a connection's receives land (IoOptions.receive). */
export type ReceiveMode = 'ring' | 'lease';

export interface AddressInfo {
  port: number;
  host: string;
}

/** What every connection of a server or connect() is made with. */
export interface TransportOptions {
  /** Bytes per receive lease (lease receives). */
  receiveSize: number;
  /** 'auto': the ring where it runs, else leases. */
  receive: ReceiveMode | 'auto';
}

/** A listening socket: its address, and how to stop accepting. */
export interface Listener {
  address: AddressInfo;
  /** Stops accepting; resolves once the listening socket is closed. */
  stop(): Promise<void>;
}

/** What Io.listen is asked. */
export interface ListenRequest {
  host: string;
  /** 0: a free port. */
  port: number;
  backlog: number;
  /** What each accepted connection is made with. */
  options: TransportOptions;
  /** Each accepted socket. */
  accepted: (t: Transport) => void;
  /** An error of the listening socket after listening began. */
  failed: (e: RioError) => void;
}

/** A pool's datapath, once chosen. */
export interface Io {
  readonly datapath: Datapath;
  readonly reason: string;
  stats(): IoStats;
  /** Listens as `request` says; rejects with a RioError. */
  listen(request: ListenRequest): Promise<Listener>;
  /**
   * Connects to host:port; resolves with the connected socket's transport, rejects with a
   * RioError. `signal` stops the connect: its socket closes at once (its promise may then reject).
   */
  connect(host: string, port: number, options: TransportOptions, signal?: AbortSignal): Promise<Transport>;
  /** Throws ERR_RIO_DATAPATH when receives cannot land where `receive` asks. */
  checkReceive(receive: ReceiveMode | 'auto'): void;
  /** A decay tick of the pool: what the datapath holds for past traffic shrinks. */
  decay(): void;
  /** The pool is closing: the datapath lets go of the memory it holds for receives to come. */
  close(): void;
}

/** Bytes [start, start + length) of a live lease, queued for sending. */
export interface Chunk {
  lease: Lease;
  start: number;
  length: number;
}

export interface Transport {
  readonly datapath: 'uring' | 'net';
  /** Starts receiving: each receive hands the sink a lease of exactly the bytes received. */
  start(sink: TransportSink): void;
  pause(): void;
  resume(): void;
  /**
   * Sends the chunks in order, as one operation where the datapath can (a prefix of them where
   * it cannot); done(n) with the bytes sent (> 0, maybe fewer than asked) or an error.
   */
  send(chunks: readonly Chunk[], done: (sent: number, error?: RioError) => void): void;
  /** Runs `callback` once before this turn's submissions go out (a connection's writes gather there). */
  schedule(callback: () => void): void;
  /** Shuts down the sending side (after the sends made before it). */
  shutdown(): void;
  /** Cancels what is in flight and closes the socket; done() once nothing is in flight. */
  close(done: () => void): void;
  /** The socket's addresses, from the OS (net: net.Socket's; uring: getsockname / getpeername); {} once closing. */
  addresses?(): Partial<SocketAddresses>;
  /** TCP_NODELAY (both datapaths; their sockets start with it on). */
  setNoDelay?(noDelay: boolean): void;
  /** SO_KEEPALIVE, and TCP_KEEPIDLE from initialDelay in ms (both datapaths). */
  setKeepAlive?(enable: boolean, initialDelay: number): void;
}

/** A connected socket's two ends, named as node:net names them. */
export interface SocketAddresses {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  remoteFamily: 'IPv4' | 'IPv6';
}

/** Where a transport delivers what it receives. */
export interface TransportSink {
  /** A lease of exactly the bytes received; the sink owns it. */
  data(lease: Lease): void;
  end(): void;
  error(error: RioError): void;
}

const netCodes = new Set<string>(NetErrorCodes);
const errnoNames = new Map<number, string>(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** The name of an errno number (ECONNRESET for 104 on Linux), or undefined. */
export function errnoName(errno: number): string | undefined {
  return errnoNames.get(errno);
}

/** A socket error as a RioError with the errno name as its code (EIO for names not listed). */
export function netError(code: string | undefined, message: string, cause?: unknown): RioError {
  const c = (code !== undefined && netCodes.has(code) ? code : 'EIO') as NetErrorCode;
  return new RioError(c, message, cause === undefined ? undefined : { cause });
}

/** A negative ring result (-errno) as a RioError named after the errno. */
export function resultError(result: number, what: string): RioError {
  const name = errnoName(-result) ?? 'EIO';
  return netError(name, `${what}: ${name} (errno ${-result})`);
}
