// Environments that end with memory still mapped and registered: workers and process exit.
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
    const pinnedInWorker = await new Promise<number>((resolve) => worker.once('message', resolve));
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
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
    await new Promise((resolve) => worker.once('message', resolve));
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
