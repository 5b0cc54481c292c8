/**
 * A ring in memory, for the reactor's model test: operations are queued, submitted and completed
 * when the test says so, in batches, as the kernel would deliver them. It checks what the
 * kernel relies on: a receive or send names a registered buffer and lies inside it, at
 * submission and still at completion (a slab deregistered under an operation in flight would
 * be a use after free in the kernel).
 */
import type { MemoryRegistrar } from '@riopool/core';
import * as os from 'node:os';
import type { CompletionHandler, Ring } from '@riopool/native';

/** What an operation does (the fake's own names: the reactor does not tell). */
type OpKind = 'accept' | 'connect' | 'receive' | 'send' | 'cancel' | 'shutdown' | 'close';

export interface FakeOp {
  op: number;
  kind: OpKind;
  bufferId: number;
  offset: number;
  length: number;
  target: number;
}

export class FakeRing implements Ring {
  /** Queued, not yet submitted. */
  readonly queued: FakeOp[] = [];
  /** Submitted, not yet completed (the kernel's view). */
  readonly inKernel: FakeOp[] = [];
  submits = 0;
  private handler: CompletionHandler | undefined;

  constructor(private readonly registrar: MemoryRegistrar) {}

  accept(op: number): void {
    this.queue({ op, kind: 'accept', bufferId: -1, offset: 0, length: 0, target: 0 });
  }
  connect(op: number): void {
    this.queue({ op, kind: 'connect', bufferId: -1, offset: 0, length: 0, target: 0 });
  }
  receive(op: number, _fd: number, bufferId: number, offset: number, length: number): void {
    this.queue({ op, kind: 'receive', bufferId, offset, length, target: 0 });
  }
  send(op: number, _fd: number, bufferId: number, offset: number, length: number): void {
    this.queue({ op, kind: 'send', bufferId, offset, length, target: 0 });
  }
  cancel(op: number, target: number): void {
    this.queue({ op, kind: 'cancel', bufferId: -1, offset: 0, length: 0, target });
  }
  shutdown(op: number): void {
    this.queue({ op, kind: 'shutdown', bufferId: -1, offset: 0, length: 0, target: 0 });
  }
  close(op: number): void {
    this.queue({ op, kind: 'close', bufferId: -1, offset: 0, length: 0, target: 0 });
  }

  submit(): number {
    const n = this.queued.length;
    for (const o of this.queued.splice(0)) {
      this.checkBuffer(o, 'submission');
      this.inKernel.push(o);
    }
    if (n > 0) this.submits++;
    return n;
  }

  start(handler: CompletionHandler): void {
    this.handler = handler;
  }

  get inFlight(): number {
    return this.queued.length + this.inKernel.length;
  }

  // The model test makes no sockets.
  listen(): [number, number] {
    throw new Error('fake ring: no sockets');
  }
  socket(): number {
    throw new Error('fake ring: no sockets');
  }
  closeSocket(): void {}

  // The model test exercises single operations: no buffer ring, no SENDMSG, no plain memory.
  features(): { bufferRing: boolean; setup: string[] } {
    return { bufferRing: false, setup: [] };
  }
  setupBufferRing(): void {
    throw new Error('fake ring: no buffer ring');
  }
  provide(): void {
    throw new Error('fake ring: no buffer ring');
  }
  closeBufferRing(): void {}
  receiveMultishot(): void {
    throw new Error('fake ring: no buffer ring');
  }
  sendParts(): void {
    throw new Error('fake ring: no SENDMSG');
  }
  receivePlain(): void {
    throw new Error('fake ring: no plain memory');
  }
  sendPlain(): void {
    throw new Error('fake ring: no plain memory');
  }

  /** Operations in flight (queued or in the kernel) that use this buffer id. */
  opsOn(bufferId: number): number {
    let n = 0;
    for (const o of [...this.queued, ...this.inKernel]) if (o.bufferId === bufferId) n++;
    return n;
  }

  /**
   * Completes the operations at these positions of `inKernel` in one batch: a receive or send
   * with `bytes` (clamped to its length), a cancel with 0 and its target (if still in the kernel)
   * with -ECANCELED, anything else with 0.
   */
  completeBatch(positions: number[], bytes: number): void {
    const picked = new Set<FakeOp>();
    for (const p of positions) if (this.inKernel.length > 0) picked.add(this.inKernel[p % this.inKernel.length]!);
    const done: [number, number][] = [];
    for (const o of picked) {
      if (!this.inKernel.includes(o)) continue; // a cancel earlier in this batch completed it
      this.inKernel.splice(this.inKernel.indexOf(o), 1);
      if (o.kind === 'cancel') {
        const target = this.inKernel.find((t) => t.op === o.target);
        if (target !== undefined) {
          this.inKernel.splice(this.inKernel.indexOf(target), 1);
          this.checkBuffer(target, 'completion');
          done.push([target.op, -os.constants.errno.ECANCELED]);
        }
        done.push([o.op, target === undefined ? -2 : 0]); // -ENOENT: nothing to cancel
        continue;
      }
      this.checkBuffer(o, 'completion');
      done.push([o.op, o.kind === 'receive' || o.kind === 'send' ? Math.min(bytes, o.length) : 0]);
    }
    if (done.length === 0) return;
    this.handler!(
      Int32Array.from(done, (d) => d[0]),
      Int32Array.from(done, (d) => d[1]),
      new Int32Array(done.length), // no flags: the fake ring has no multishot and no buffer ring
      done.length,
    );
  }

  private queue(o: FakeOp): void {
    this.queued.push(o);
  }

  private checkBuffer(o: FakeOp, when: string): void {
    if (o.kind !== 'receive' && o.kind !== 'send') return;
    const size = this.registrar.registeredLength(o.bufferId);
    if (size === undefined) throw new Error(`fake ring: op ${o.op} uses buffer ${o.bufferId}, not registered at ${when}`);
    if (o.offset < 0 || o.length < 1 || o.offset + o.length > size)
      throw new Error(`fake ring: op ${o.op} lies outside buffer ${o.bufferId}`);
  }
}

// ------------------------------------------------------------------------------------------------
// Accepts, for the accept loop's test (63.accept-loop.test.ts): a listening socket's accepts
// completed with the results the test gives (a new socket, or -errno), and the sockets closed.

export class AcceptRing extends FakeRing {
  /** Sockets closed with closeSocket(), in order. */
  readonly closedSockets: number[] = [];
  /** Set: accept() throws this (the ring refuses the operation). */
  refuseAccept: Error | undefined;
  #handler: CompletionHandler | undefined;

  override start(handler: CompletionHandler): void {
    super.start(handler);
    this.#handler = handler;
  }
  override accept(op: number): void {
    if (this.refuseAccept !== undefined) throw this.refuseAccept;
    super.accept(op);
  }
  override closeSocket(fd?: number): void {
    this.closedSockets.push(fd!);
  }

  /** Accepts queued or in the kernel. */
  get accepts(): number {
    return [...this.queued, ...this.inKernel].filter((o) => o.kind === 'accept').length;
  }

  /** Completes the oldest accepts in the kernel, one per result, in one batch. */
  completeAccepts(...results: number[]): void {
    const accepts = this.inKernel.filter((o) => o.kind === 'accept').slice(0, results.length);
    if (accepts.length < results.length) throw new Error(`fake ring: ${results.length} accept results for ${accepts.length} accepts`);
    for (const o of accepts) this.inKernel.splice(this.inKernel.indexOf(o), 1);
    this.#handler!(
      Int32Array.from(accepts, (o) => o.op),
      Int32Array.from(results),
      new Int32Array(results.length),
      results.length,
    );
  }

  /** Completes every cancel in the kernel, with its target (-ECANCELED), in one batch. */
  completeCancels(): void {
    const positions: number[] = [];
    this.inKernel.forEach((o, i) => {
      if (o.kind === 'cancel') positions.push(i);
    });
    this.completeBatch(positions, 0);
  }
}
