// A connection listener that throws: Node reports the exception as uncaught, and the server goes
// on accepting, on each datapath (the server in a child process, which counts the exceptions).
import { isLinux, runChild } from './helpers';

describe('a connection listener that throws', () => {
  // Node reports a listener's exception as uncaught (the child counts them); the server must go on
  // accepting: more throwing connections than the ring keeps accepts armed (16), then a good one.
  test.each(['uring', 'net'] as const)('does not stop the server accepting (%s)', (datapath) => {
    if (datapath === 'uring' && !isLinux) return;
    const r = runChild(`
      const net = require('node:net');
      let uncaught = 0;
      process.on('uncaughtException', () => uncaught++);
      const pool = riopool.createPool();
      let seen = 0;
      const server = riopool.createServer(pool, { datapath: ${JSON.stringify(datapath)} }, (conn) => {
        seen++;
        conn.on('close', () => {});
        if (seen <= 20) { conn.destroy(); throw new Error('listener bug ' + seen); }
        conn.end();
      });
      const dial = (port) => new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => resolve(false)).on('close', () => resolve(true));
        s.resume();
      });
      server.listen({ port: 0 }).then(async ({ port }) => {
        for (let i = 0; i < 21; i++) await dial(port);
        const deadline = Date.now() + 5000;
        while (seen < 21 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        server.closeAllConnections();
        await server.close();
        await pool.close({ timeout: 5000 });
        console.log(JSON.stringify({ seen, uncaught, datapath: pool.stats().io.datapath }));
      });
    `);
    expect(r.stderr).not.toMatch(/Error: (?!listener bug)/);
    expect(r.json).toMatchObject({ seen: 21, uncaught: 20 });
  });
});
