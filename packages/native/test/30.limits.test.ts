// The OS refuses to pin or lock past its limit: an unprivileged child (8 MiB for mlock and a
// separate 8 MiB for io_uring pins by default) registers 1 MiB at a time until refused.
import { isLinux, isRoot, runChild, requireNative } from './helpers';

const unprivileged = isLinux && isRoot ? describe : describe.skip;

function fillUntilRefused(kind: 'uring' | 'lock') {
  return runChild(
    `${requireNative}
    const r = new native.Backend('${kind}');
    const ab = native.map(64 << 20);
    let ok = 0, err = null;
    for (let i = 0; i < 64; i++) {
      try { r.register(ab, i << 20, 1 << 20); ok++; }
      catch (e) { err = { code: e.code, message: e.message, limit: e.limit, limitBytes: e.limitBytes, advice: require(${JSON.stringify(require.resolve('../src/index.ts').replace(/src[\\/]index\.ts$/, 'dist/index.js'))}).adviceFor(e, 'register') }; break; }
    }
    const status = native.memoryStatus();
    // The process goes on: smaller registrations still work after the refusal.
    r.close();
    const after = native.memoryStatus();
    native.unmap(ab);
    console.log(JSON.stringify({ ok, err, status, after, limit: require('node:child_process')
      .execSync('sh -c "ulimit -l"').toString().trim() }));`,
    { asNobody: true },
  );
}

unprivileged('memlock limits in an unprivileged child', () => {
  test('uring: registering past the limit fails with ENOMEM and the hint; the process goes on', () => {
    const { json, status, stderr } = fillUntilRefused('uring');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const limitMiB = Number(json.limit) / 1024;
    // The ring's own queue memory is charged to the same account, so one MiB may be short.
    expect(json.ok).toBeGreaterThanOrEqual(Math.floor(limitMiB) - 1);
    expect(json.ok).toBeLessThanOrEqual(Math.floor(limitMiB));
    expect(json.err.code).toBe('ENOMEM');
    expect(json.err.message).toMatch(/io_uring/);
    // The addon states the facts; limitAdvice (TypeScript) writes how to raise the limit.
    expect(json.err).toMatchObject({ limit: 'RLIMIT_MEMLOCK', limitBytes: Number(json.limit) * 1024 });
    expect(json.err.advice).toMatch(/RLIMIT_MEMLOCK \(soft limit \d+ KiB\)/);
    expect(json.err.advice).toMatch(/ulimit -l/);
    expect(json.status.pinned).toBe(json.ok * (1 << 20));
    expect(json.after.pinned).toBe(0);
  });

  test('lock: mlock past the limit fails with ENOMEM and the hint; the process goes on', () => {
    const { json, status, stderr } = fillUntilRefused('lock');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const limitMiB = Number(json.limit) / 1024;
    expect(json.ok).toBe(Math.floor(limitMiB));
    expect(json.err.code).toBe('ENOMEM');
    expect(json.err.message).toMatch(/mlock/);
    expect(json.err).toMatchObject({ limit: 'RLIMIT_MEMLOCK', limitBytes: Number(json.limit) * 1024 });
    expect(json.status.locked).toBe(json.ok * (1 << 20));
    expect(json.after.locked).toBe(0);
  });
});
