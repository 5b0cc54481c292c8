// Issue 16: a missing or unloadable addon is a RioError with a stable code, like every other error.
import { runChild } from './helpers';

test('no addon (RIOPOOL_NATIVE_PATH names nothing): createPool throws RioError ERR_RIO_NO_ADDON, the loader message kept', () => {
  const r = runChild(
    `
    process.env.RIOPOOL_NATIVE_PATH = '/nonexistent/riopool.node'; // read at the first load, which createPool makes
    let out;
    try { riopool.createPool(); out = { threw: false }; }
    catch (e) { out = { name: e.name, code: e.code, isRio: riopool.isRioError(e, 'ERR_RIO_NO_ADDON'), message: e.message, cause: e.cause && e.cause.code }; }
    console.log(JSON.stringify(out));
  `,
  );
  expect(r.json).toEqual(
    expect.objectContaining({ name: 'RioError', code: 'ERR_RIO_NO_ADDON', isRio: true, cause: 'ERR_RIOPOOL_NO_ADDON' }),
  );
  expect(r.json.message).toContain('RIOPOOL_NATIVE_PATH');
});
