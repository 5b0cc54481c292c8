/**
 * Server and connect(): the public entry points of registered I/O.
 *
 *   const server = createServer(pool, { datapath: 'auto' }, (conn) => { conn.on('data', ...) });
 *   const { port } = await server.listen({ port: 6379, host: '127.0.0.1' });
 *   const client = await connect(pool, { port, host: '127.0.0.1' });
 *
 * The datapath is chosen once per pool (datapath.ts) and reported by pool.stats().io; this file
 * does not know which one runs.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import { RioError, invalidOption, is, readOptions, type Schema } from '@riopool/core';
import { abortError, checkSignal, onAbort } from '../abort';
import { TypedEmitter } from '../events';
import { allocatorOf, checkPool, ioOf, trackConnection, type Pool } from '../pool';
import { newConnection, type Connection, type ConnectionOptions } from './connection';
import type { AddressInfo, Datapath, Listener, ReceiveMode, TransportOptions } from './datapath';
import { netError, type SocketAddresses, type Transport } from './transport';
import { emitRiopoolWarning } from '../warnings';

export type { AddressInfo } from './datapath';

export interface IoOptions extends ConnectionOptions {
  /** 'auto' (default): uring where the pool's backend is uring and the ring can do I/O, else net. */
  datapath?: Datapath | 'auto';
  /**
   * Where receives land: 'ring' (the pool's shared receive buffers: an idle connection holds
   * none), 'lease' (a lease of receiveSize per connection while it waits), or 'auto' (default:
   * the ring where the kernel has it, else leases).
   */
  receive?: ReceiveMode | 'auto';
  /** Bytes per receive lease (receive: 'lease', and where the ring does not run); default 16 KiB. */
  receiveSize?: number;
}

export interface ListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
  /** Closes the server when aborted (as node:net's listen({ signal })); aborted before listening: listen() rejects with an AbortError. */
  signal?: AbortSignal;
}

/** createServer's and connect's options (receiveSize's upper bound, the pool's largest lease, is checked below). */
const IO_SCHEMA: Schema = {
  datapath: is.oneOf('auto', 'uring', 'net'),
  receive: is.oneOf('auto', 'ring', 'lease'),
  receiveSize: (v) => (typeof v === 'number' ? undefined : 'must be a number'), // its range: ERR_RIO_INVALID_LENGTH below
  highWaterMark: is.atLeast(0),
  allowHalfOpen: is.bool,
};

/** listen()'s options. */
const LISTEN_SCHEMA: Schema = {
  port: is.int(0, 65535),
  host: is.string,
  backlog: is.int(0, 2 ** 31 - 1),
  signal: is.checkedElsewhere, // checkSignal
};

/** connect()'s address: a port is required (1 .. 65535). */
const CONNECT_SCHEMA: Schema = {
  port: is.int(1, 65535),
  host: is.string,
  signal: is.checkedElsewhere, // checkSignal
};

/** Where connect() goes. */
export interface ConnectTarget {
  port: number;
  /** An IP address, or a name (`localhost`) looked up as node:net does; default 127.0.0.1. */
  host?: string;
  /**
   * Aborts the connect (it rejects with an AbortError) and, once connected, destroys the
   * connection when aborted (as node:net's connect({ signal })).
   */
  signal?: AbortSignal;
}

/**
 * A host as node:net takes it: an IP address as it is, a name ('localhost') looked up with
 * dns.lookup (the first address, in the resolver's order). A name that does not resolve is a
 * RioError ENOTFOUND (or the resolver's code where NetErrorCodes has it).
 */
function resolveHost(host: string): Promise<string> {
  if (net.isIP(host) !== 0) return Promise.resolve(host);
  return dns.promises.lookup(host).then(
    (found) => found.address,
    (e: NodeJS.ErrnoException) => {
      throw netError(e.code, `${host}: ${e.code ?? 'the name did not resolve'}`, e);
    },
  );
}

const family = (address: string): 'IPv4' | 'IPv6' => (net.isIPv6(address) ? 'IPv6' : 'IPv4');

/** createServer's way in (the constructor is private: its parameters are not API). */
let newServer: (pool: Pool, options: IoOptions, onConnection?: (conn: Connection) => void) => Server;

/**
 * Checks the pool and the options before anything is made (no socket, no lease); returns the
 * checked copy of the options and what the transport takes from them.
 */
function checkOptions(
  fn: string,
  given: IoOptions,
  pool: Pool,
): { options: IoOptions; transport: { receiveSize: number; receive: ReceiveMode | 'auto' } } {
  checkPool(fn, pool, true);
  const options = readOptions<IoOptions>(fn, given, IO_SCHEMA);
  const receive = options.receive ?? 'auto';
  const receiveSize = options.receiveSize ?? 16 * 1024;
  const max = allocatorOf(pool).maxLength;
  if (!Number.isInteger(receiveSize) || receiveSize < 1 || receiveSize > max)
    throw new RioError('ERR_RIO_INVALID_LENGTH', `${fn}: receiveSize must be an integer from 1 to ${max}`);
  return { options, transport: { receiveSize, receive } };
}

/** A server's events and their listeners' arguments. */
export interface ServerEvents {
  /** An accepted connection (createServer's onConnection is a listener of it). */
  connection: [conn: Connection];
  /**
   * A RioError from accepting (the errno's name as its code where NetErrorCodes has it, else
   * EIO). Out of descriptors (EMFILE) accepting pauses and resumes by itself. With no listener
   * it is a RIOPOOL_ACCEPT warning, not a throw (docs/api.md, "Servers").
   */
  error: [error: RioError];
  /** listen() has bound the socket (as net.Server's; listen()'s promise resolves right after). */
  listening: [];
  /** close() has finished: the listening socket and every connection of the server are closed. */
  close: [];
}

export class Server extends TypedEmitter<ServerEvents> {
  readonly #pool: Pool;
  readonly #options: IoOptions;
  readonly #transportOptions: TransportOptions;
  readonly #connections = new Set<Connection>();
  #listener: Listener | undefined;
  #listening = false;
  /** The listening socket's close, once started (close() resolves after it). */
  #stopping: Promise<void> | undefined;
  /** Removes listen()'s abort listener (its signal closes the server). */
  #forgetSignal: (() => void) | undefined;
  /** 'close' is emitted once per listen. */
  #closeEmitted = false;

  private constructor(pool: Pool, given: IoOptions, onConnection?: (conn: Connection) => void) {
    super();
    const { options, transport } = checkOptions('createServer', given, pool);
    if (onConnection !== undefined && typeof onConnection !== 'function') {
      throw invalidOption('createServer', 'onConnection', onConnection, 'must be a function');
    }
    this.#transportOptions = transport;
    this.#pool = pool;
    this.#options = options;
    if (onConnection !== undefined) this.on('connection', (conn) => settled(onConnection(conn), conn));
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
  }

  address(): AddressInfo | null {
    return this.#listener?.address ?? null;
  }

  /** Starts listening; resolves with the address (port 0 picks a free port); rejects with a RioError. */
  listen(options: ListenOptions = {}): Promise<AddressInfo> {
    try {
      return this.#listen(options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #listen(given: ListenOptions): Promise<AddressInfo> {
    const options = readOptions<ListenOptions>('listen', given, LISTEN_SCHEMA);
    checkPool('listen', this.#pool, true);
    if (this.#listening) return Promise.reject(new RioError('ERR_RIO_INVALID_OPTION', 'listen: the server is already listening'));
    const signal = checkSignal(options.signal, 'listen');
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    const io = ioOf(this.#pool, this.#options.datapath ?? 'auto');
    io.checkReceive(this.#transportOptions.receive);
    this.#listening = true;
    return resolveHost(options.host ?? '127.0.0.1')
      .catch((e: unknown) => {
        this.#listening = false;
        throw e;
      })
      .then((host) => this.#bind(io, host, options, signal));
  }

  #bind(io: ReturnType<typeof ioOf>, host: string, options: ListenOptions, signal: AbortSignal | undefined): Promise<AddressInfo> {
    return io
      .listen({
        host,
        port: options.port ?? 0,
        backlog: options.backlog ?? 511,
        options: this.#transportOptions,
        accepted: (t) => this.#accepted(t),
        failed: (e) => {
          // Accepting fails as often by the peers' doing as by the program's (so many connections
          // that descriptors run out): with nobody listening for 'error' it is a warning, never an
          // exception thrown into the event loop. The server goes on accepting where it can.
          if (this.listenerCount('error') > 0) this.emit('error', e);
          else
            emitRiopoolWarning(
              'RIOPOOL_ACCEPT',
              `riopool: a server could not accept (${e.message}); listen for its 'error' event to handle this`,
            );
        },
      })
      .then(
        (listener) => {
          this.#listener = listener;
          this.emit('listening');
          if (signal === undefined) return listener.address;
          if (signal.aborted) {
            void this.close();
            throw abortError(signal);
          }
          this.#forgetSignal = onAbort(signal, () => void this.close());
          return listener.address;
        },
        (e: unknown) => {
          this.#listening = false;
          throw e;
        },
      );
  }

  /** Destroys every connection of this server now (as http.Server's closeAllConnections). */
  closeAllConnections(): void {
    for (const conn of this.#connections) conn.destroy();
  }

  /** Stops accepting; resolves once every connection has closed (end or destroy them). */
  close(): Promise<void> {
    const waitAll = () =>
      Promise.all([...this.#connections].map((c) => (c.closed ? undefined : new Promise((r) => c.once('close', r))))).then(() => undefined);
    const listener = this.#listener;
    this.#listener = undefined;
    this.#listening = false;
    this.#forgetSignal?.();
    this.#forgetSignal = undefined;
    // A second close (or the one listen's signal started) waits for the listening socket too.
    if (listener !== undefined) {
      this.#stopping = listener.stop();
      this.#closeEmitted = false;
    }
    return (this.#stopping ?? Promise.resolve()).then(waitAll).then(() => {
      if (this.#stopping === undefined || this.#closeEmitted || this.#listening) return;
      this.#closeEmitted = true;
      this.emit('close');
    });
  }

  /**
   * `await using server = createServer(...)`: at the end of the scope, stop accepting, destroy
   * the server's connections and wait for them to close (close() alone would wait for peers).
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.closeAllConnections();
    return this.close();
  }

  static {
    newServer = (pool, options, onConnection) => new Server(pool, options, onConnection);
  }

  #accepted(transport: Transport): void {
    const at = this.#listener?.address;
    // What the server knows; the net datapath asks the OS for the rest (the peer's address).
    const known: Partial<SocketAddresses> = at === undefined ? {} : { localAddress: at.host, localPort: at.port };
    const conn = newConnection(transport, allocatorOf(this.#pool), this.#options, known);
    trackConnection(
      this.#pool,
      conn,
      `a connection accepted by the server on ${at === undefined ? 'a closed listener' : `${at.host} port ${at.port}`} (${conn.datapath})`,
    );
    this.#connections.add(conn);
    conn.once('close', () => this.#connections.delete(conn));
    this.emit('connection', conn);
  }
}

/**
 * An async onConnection's promise: a connection's own error that ends it (a peer's reset thrown
 * out of `for await (const lease of conn)`) destroys that connection instead of reaching the
 * process as an unhandled rejection; any other rejection (the application's) is left unhandled,
 * as Node leaves it.
 */
function settled(result: unknown, conn: Connection): void {
  if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') return;
  (result as PromiseLike<unknown>).then(undefined, (e: unknown) => {
    if (!(e instanceof RioError)) throw e;
    conn.destroy();
  });
}

export function createServer(pool: Pool, options: IoOptions = {}, onConnection?: (conn: Connection) => void): Server {
  return newServer(pool, options, onConnection);
}

/** Connects to host:port; resolves with the connection once it is established. */
export function connect(pool: Pool, to: ConnectTarget, options: IoOptions = {}): Promise<Connection> {
  try {
    return connectNow(pool, to, options);
  } catch (e) {
    return Promise.reject(e);
  }
}

function connectNow(pool: Pool, givenTo: ConnectTarget, given: IoOptions): Promise<Connection> {
  const { options, transport: transportOptions } = checkOptions('connect', given, pool);
  if (givenTo === undefined) throw invalidOption('connect', 'to', givenTo, 'must be an object with a port');
  const to = readOptions<ConnectTarget>('connect', givenTo, CONNECT_SCHEMA);
  if (to.port === undefined) throw invalidOption('connect', 'port', to.port, 'must be an integer from 1 to 65535');
  const signal = checkSignal(to.signal, 'connect');
  if (signal?.aborted === true) return Promise.reject(abortError(signal));
  const io = ioOf(pool, options.datapath ?? 'auto');
  io.checkReceive(transportOptions.receive);
  const host = to.host ?? '127.0.0.1';
  const port = to.port;
  const connected = resolveHost(host)
    .then((address) => io.connect(address, port, transportOptions, signal).then((t) => [t, address] as const))
    .then(([t, address]) => {
      const known: Partial<SocketAddresses> = { remoteAddress: address, remotePort: port, remoteFamily: family(address) };
      const conn = newConnection(t, allocatorOf(pool), options, known);
      trackConnection(pool, conn, `a connection from connect() to ${host} port ${to.port} (${conn.datapath})`);
      return conn;
    });
  if (signal === undefined) return connected;
  // Aborted while connecting: reject now; the connection, if it is made after all, is destroyed.
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    const forget = onAbort(signal, () => {
      settled = true;
      reject(abortError(signal));
    });
    connected.then(
      (conn) => {
        forget();
        if (settled) return conn.destroy();
        settled = true;
        // From now on the signal destroys the connection, until it closes.
        const forgetLater = onAbort(signal, () => conn.destroy());
        conn.once('close', forgetLater);
        resolve(conn);
      },
      (e: unknown) => {
        forget();
        if (!settled) reject(e);
      },
    );
  });
}
