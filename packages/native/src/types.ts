/**
 * The types of what the addon exports (src/addon.cc, binding_backend.cc, binding_ring.cc).
 * docs/native.md lists the same exports with their preconditions and failure codes; a test
 * checks that the two agree with the loaded addon.
 */

/** How registration is done: io_uring fixed buffers, Windows RIO, mlock only, or nothing. */
export type BackendKind = 'uring' | 'rio' | 'lock' | 'none';

/** Process memory in bytes; null where the OS does not say (VmPin and VmLck are Linux's). */
export interface MemoryStatus {
  pinned: number | null;
  locked: number | null;
  rss: number | null;
  /**
   * The limit on locked and pinned memory for this process: RLIMIT_MEMLOCK's soft value; null
   * when unlimited or when the process may lock without limit (CAP_IPC_LOCK on Linux).
   */
  lockLimit: number | null;
}

export interface NativeInfo {
  pageSize: number;
  /** The backends' limits, from their one home in the addon (backend.h). */
  limits: { maxRegistrations: number; maxRegistrationBytes: number };
  /** The backends compiled into this build. */
  backends: BackendKind[];
  liveMappings: number;
  mappedBytes: number;
  maps: number;
  explicitUnmaps: number;
  finalizerUnmaps: number;
  finalizerSkips: number;
}

/** One registration backend; for `uring`, one io_uring with a sparse fixed-buffer table. */
export interface NativeBackend {
  /** Registers [offset, offset + length) of a mapping; returns its buffer id. */
  register(arrayBuffer: ArrayBuffer, offset?: number, length?: number): number;
  deregister(bufferId: number): void;
  /** Deregisters everything and releases the backend (and its ring). Idempotent. */
  close(): void;
  /** The backend's ring of registered I/O (uring; rio: receives and sends only), or null where it has none (lock, none). */
  ring(): Ring | null;
  readonly kind: BackendKind | 'closed';
  /** True when registration locks or pins memory. */
  readonly locks: boolean;
  /** Registrations that may be live at once (16,384 for io_uring). */
  readonly capacity: number;
  /** Registrations live now. */
  readonly size: number;
}

/**
 * One batch of completions: `count` op ids, their results and their flags (the kernel's
 * IORING_CQE_F_*: MORE = 2 while a multishot receive goes on; BUFFER = 1 with the buffer ring's
 * bid in bits 16..31; BUF_MORE = 16 while that buffer has room left), in entries [0, count). The
 * arrays are reused from batch to batch (views of one 12 KiB buffer the binding writes, at byte
 * offsets 0, 4096 and 8192). The handler is called with itself as `this`.
 */
export type CompletionHandler = (ops: Int32Array, results: Int32Array, flags: Int32Array, count: number) => void;

/**
 * A ring of registered I/O (docs/native.md, "Ring"): socket operations on a backend's
 * registrations. Every operation carries an op id the caller chose (1 .. 2^31 - 1, unique among
 * the operations in flight); queuing makes no system call, submit() hands everything queued to
 * the kernel in one. Each operation completes exactly once with a result: bytes moved, a new
 * socket (accept), 0, or -errno. A cancelled operation still completes (usually -ECANCELED), and
 * only then may its buffer be reused or deregistered. Tests implement it in memory
 * (packages/pool/test/fake-ring.ts).
 */
export interface Ring {
  /** Completions reach `handler` in batches on Node's event loop. Once per ring. */
  start(handler: CompletionHandler): void;
  /** Accept one connection on a listening socket; result: the new socket, or -errno. */
  accept(op: number, listenFd: number): void;
  /** Connect a socket made by socket() to host:port (numeric IPv4 or IPv6); result 0 or -errno. */
  connect(op: number, fd: number, host: string, port: number): void;
  /** READ_FIXED into [offset, offset + length) of registration `bufferId`; result: bytes (0 at end) or -errno. */
  receive(op: number, fd: number, bufferId: number, offset: number, length: number): void;
  /** WRITE_FIXED from [offset, offset + length) of registration `bufferId`; result: bytes sent (maybe fewer) or -errno. */
  send(op: number, fd: number, bufferId: number, offset: number, length: number): void;
  /** One SENDMSG of `count` (1 .. 64) ranges of registrations, [bufferId, offset, length] each in `parts`. */
  sendParts(op: number, fd: number, parts: Int32Array, count: number): void;
  /** A multishot receive from the buffer ring: a completion per receive, MORE set on all but the last. */
  receiveMultishot(op: number, fd: number): void;
  /** RECV into [offset, offset + length) of a mapping that is not registered; unmap refuses until it completes. */
  receivePlain(op: number, fd: number, buffer: ArrayBuffer, offset: number, length: number): void;
  /** SEND from [offset, offset + length) of a mapping that is not registered; unmap refuses until it completes. */
  sendPlain(op: number, fd: number, buffer: ArrayBuffer, offset: number, length: number): void;
  /**
   * What this kernel's ring can do: an incremental buffer ring with multishot receives (6.12+),
   * and the setup flags it accepted (`COOP_TASKRUN`, `TASKRUN_FLAG`, `SINGLE_ISSUER`; none on
   * kernels before 5.19).
   */
  features(): { bufferRing: boolean; setup: string[] };
  /** Registers the buffer ring with `entries` slots (a power of two). Once. */
  setupBufferRing(entries: number): void;
  /** Lends [offset, offset + length) of registration `bufferId` to the buffer ring as buffer `bid`. */
  provide(bid: number, bufferId: number, offset: number, length: number): void;
  /** Unregisters the buffer ring: the kernel lets go of every lent buffer. Idempotent. */
  closeBufferRing(): void;
  /** Cancel the operation `target`; `target` still completes on its own. */
  cancel(op: number, target: number): void;
  /** Shut down the socket's sending side (SHUT_WR). */
  shutdown(op: number, fd: number): void;
  /** Close the socket; result 0 or -errno. */
  close(op: number, fd: number): void;
  /** Hands every queued operation to the kernel in one call; returns how many it took. */
  submit(): number;
  /** Operations queued or in flight. */
  readonly inFlight: number;
  /** A listening TCP socket on a numeric host (port 0: any free port): [fd, port]. */
  listen(host: string, port: number, backlog: number): [number, number];
  /** An unconnected TCP socket of the host's family. */
  socket(host: string): number;
  /** Closes a socket that no operation uses. */
  closeSocket(fd: number): void;
  /**
   * One end of a socket: getsockname (`peer` false) or getpeername (`peer` true), as
   * [numeric host, port, family 4 or 6]. Throws a NativeError with the errno (ENOTCONN: a peer
   * that is gone). Pre: `fd` is a live socket of the caller's (an fd already closed may be another's).
   */
  socketName(fd: number, peer: boolean): [string, number, 4 | 6];
  /** TCP_NODELAY on or off. Pre: `fd` is a live TCP socket of the caller's. */
  setNoDelay(fd: number, on: boolean): void;
  /**
   * SO_KEEPALIVE on or off and, when on and `idleSeconds` > 0, TCP_KEEPIDLE (0: the idle time is
   * left as it is). `idleSeconds` 0 .. 32767. Pre: `fd` is a live TCP socket of the caller's.
   */
  setKeepAlive(fd: number, on: boolean, idleSeconds: number): void;
}

export interface Binding {
  pageSize(): number;
  /** Whole pages of zeroed memory, page aligned; bytes must be a multiple of the page size (EINVAL). */
  map(bytes: number): ArrayBuffer;
  /** Detaches the ArrayBuffer (every view reads as length 0), then unmaps. False if done before. */
  unmap(arrayBuffer: ArrayBuffer): boolean;
  /** Resident pages of a mapping (mincore), or null where unknown. */
  residency(arrayBuffer: ArrayBuffer): number | null;
  memoryStatus(): MemoryStatus;
  info(): NativeInfo;
  Backend: new (kind: BackendKind, entries?: number) => NativeBackend;
}

/** An error thrown by the addon: `code` is errno-style, `errno` the OS number (0 if none). */
export interface NativeError extends Error {
  code: string;
  errno: number;
  /** A refused lock or pin: the limit's name (RLIMIT_MEMLOCK on POSIX) ... */
  limit?: string;
  /** ... and its value in bytes (null: unlimited). advice.ts says how to raise it. */
  limitBytes?: number | null;
}
