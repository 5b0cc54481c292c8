// Environments that end with memory still mapped and registered: workers and process exit.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { pinned, isLinux, runChild, requireNative } from './helpers';

const linux = isLinux ? describe : describe.skip;

linux('teardown', () => {
  test('a worker that exits with registrations outstanding leaves nothing pinned and no crash', async () => {
    const before = pinned();
    const script = `
      ${requireNative}
      const { parentPort } = require('node:worker_threads');
      const r = new native.Backend('uring');
      const abs = [];
      for (let i = 0; i < 8; i++) { const ab = native.map(1 << 20); r.register(ab); abs.push(ab); }
      parentPort.postMessage(native.memoryStatus().pinned);
      // Exit without deregistering or unmapping.
      process.exit(0);`;
    const worker = new Worker(script, { eval: true });
    // Both listeners at once, before anything is awaited. A worker that posts and exits at once
    // can have its message still queued when its exit is handled: Node then emits 'message' and
    // 'exit' in the same call (Worker's kOnExit drains the port, then emits 'exit'), and an 'exit'
    // listener attached after awaiting the message never heard it: the test waited out its 60 s
    // (pnpm test:debug, once in five runs; every time when the parent's loop is busy meanwhile).
    // once() also rejects on 'error', so a worker that throws fails the test instead of hanging it.
    const exited = once(worker, 'exit');
    const [pinnedInWorker] = (await once(worker, 'message')) as [number];
    const [code] = (await exited) as [number];
    expect(code).toBe(0);
    expect(pinnedInWorker - before).toBe(8 << 20);
    expect(pinned()).toBe(before);
  });

  test('a worker terminated from outside also releases its registrations', async () => {
    const before = pinned();
    const script = `
      ${requireNative}
      const { parentPort } = require('node:worker_threads');
      const r = new native.Backend('uring');
      const ab = native.map(4 << 20); r.register(ab);
      parentPort.postMessage('ready');
      setInterval(() => {}, 1000);`;
    const worker = new Worker(script, { eval: true });
    await once(worker, 'message'); // rejects if the worker fails before it is ready
    expect(pinned() - before).toBe(4 << 20);
    await worker.terminate();
    expect(pinned()).toBe(before);
  });

  test('a process that exits with registrations outstanding exits cleanly', () => {
    const { json, status, stderr } = runChild(`${requireNative}
      const r = new native.Backend('uring');
      const ab = native.map(1 << 20); r.register(ab);
      console.log(JSON.stringify({ pinned: native.memoryStatus().pinned }));`);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(json.pinned).toBe(1 << 20);
  });
});
