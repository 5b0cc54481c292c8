/**
 * Ring: what the registered-I/O datapath needs from a submission/completion ring, as TypeScript
 * sees it. The `uring` backend's io_uring implements it in the addon (docs/native.md,
 * "Datapath"); tests implement it in memory (testing/fake-ring.ts).
 *
 * Every operation carries an op id the caller chose (a positive int32, unique among the ops in
 * flight). Queuing makes no system call; submit() hands everything queued to the kernel in one
 * call. Each operation completes exactly once, with a result: bytes moved, a new socket (accept,
 * and connect's 0), or -errno. A cancelled operation still completes (usually with -ECANCELED),
 * and only then may its buffer be reused or deregistered.
 */

/** What an operation does; the reactor keeps it beside the op id. */
export enum OpKind {
  Accept = 1,
  Connect = 2,
  Receive = 3,
  Send = 4,
  Cancel = 5,
  Close = 6,
  Shutdown = 7,
}

export interface Ring {
  /** Accept one connection on a listening socket; result: the new socket, or -errno. */
  accept(op: number, listenFd: number): void;
  /** Connect a socket made by socket() to host:port (numeric IPv4 or IPv6); result 0 or -errno. */
  connect(op: number, fd: number, host: string, port: number): void;
  /** Receive into [offset, offset + length) of registered buffer `bufferId`; result: bytes (0 at end) or -errno. */
  receive(op: number, fd: number, bufferId: number, offset: number, length: number): void;
  /** Send [offset, offset + length) of registered buffer `bufferId`; result: bytes sent (maybe fewer) or -errno. */
  send(op: number, fd: number, bufferId: number, offset: number, length: number): void;
  /** Cancel the operation `target`; `target` still completes on its own. */
  cancel(op: number, target: number): void;
  /** Shut down the socket's sending side (SHUT_WR) after the sends queued before it. */
  shutdown(op: number, fd: number): void;
  /** Close the socket; result 0 or -errno. */
  close(op: number, fd: number): void;
  /** Hands every queued operation to the kernel in one call; returns how many. */
  submit(): number;
  /** Where completions go: `count` op ids and results, one call per batch. */
  onCompletions(handler: (ops: Int32Array, results: Int32Array, count: number) => void): void;
}
