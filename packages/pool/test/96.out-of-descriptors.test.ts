// A server out of file descriptors (EMFILE), against the kernel: a peer that opens connections
// until the server's process has no descriptor left must neither crash the server nor make it
// spin; the server pauses accepting, warns once, and answers when descriptors return, and the
// pool still closes while every accept is paused. The server runs in a child node limited to 256
// descriptors. The accept loop's states on a ring in memory: 63.accept-loop.test.ts.
import { spawnSync } from 'node:child_process';
import { POOL_DIST, isLinux } from './helpers';

/**
 * Runs `script` in a child node limited to 256 descriptors; its last line of output, parsed. The
 * script has `riopool`, `fs`, `net`, `sleep(ms)`, and `useUpDescriptorsBut(n)`, which opens
 * /dev/null until EMFILE, closes n of them again and returns the rest (close them to give back).
 */
function runOutOfDescriptors(script: string): any {
  const prelude = `
    const riopool = require(${JSON.stringify(POOL_DIST)});
    const fs = require('node:fs');
    const net = require('node:net');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const useUpDescriptorsBut = (n) => {
      const spare = [];
      try { for (;;) spare.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      for (const fd of spare.splice(0, n)) fs.closeSync(fd);
      return spare;
    };
    // The peers live in a process of their own, started before the descriptors run out, as real
    // peers do: the ring runs a connection's accept whenever the thread enters the kernel, so
    // clients in the server's process would race its accepts for the last descriptors. Each
    // connection writes 'ping' and answers true once echoed (or its error code, or false if
    // closed unanswered); more() opens one more; answers() resolves when all have answered.
    const peers = (port, n) => {
      const child = require('node:child_process').spawn(process.execPath, ['-e', \`
        const net = require('node:net');
        const answers = [];
        const open = () => {
          const i = answers.push(null) - 1;
          const s = net.connect(\${port}, '127.0.0.1');
          const settle = (v) => { if (answers[i] === null) { answers[i] = v; s.destroy(); } };
          s.on('error', (e) => settle(e.code)).on('close', () => settle(false)).on('data', () => settle(true));
          s.write('ping');
        };
        for (let i = 0; i < \${n}; i++) open();
        process.stdin.on('data', (d) => { for (const c of String(d)) if (c === '+') open(); });
        process.stdin.on('end', () => {
          const wait = () => (answers.includes(null) ? setTimeout(wait, 10) : console.log(JSON.stringify(answers)));
          wait();
        });
      \`], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const exited = new Promise((resolve) => child.on('exit', resolve));
      return {
        more: () => child.stdin.write('+'),
        answers: async () => { child.stdin.end(); await exited; return JSON.parse(out); },
        end: async () => { child.kill(); await exited; },
      };
    };
  `;
  const r = spawnSync('prlimit', ['--nofile=256:256', process.execPath, '-e', prelude + script], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`the child failed (status ${r.status}, ${String(r.error ?? '')}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null');
}

describe('a server out of file descriptors (EMFILE)', () => {
  // A peer that opens connections until the server's descriptors run out must neither crash a
  // server that has no 'error' listener nor make it spin: the child runs with 256 descriptors,
  // uses up all but six, and five clients take them; each accept then fails with EMFILE. After
  // a second the descriptors come back, and every client (plus one more) must be answered.
  test.each(['uring', 'net'] as const)('pauses accepting, warns once, and answers when descriptors return (%s)', (datapath) => {
    if (!isLinux) return;
    const script = `
      let uncaught = 0;
      process.on('uncaughtException', (e) => { uncaught++; console.error(e); });
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      const pool = riopool.createPool();
      const server = riopool.createServer(pool, { datapath: ${JSON.stringify(datapath)} }, (conn) => {
        conn.on('error', () => {});
        conn.on('data', (lease) => { conn.write(lease); lease.release(); });
      });
      const echoed = (port) => new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', (e) => resolve(e.code));
        s.on('close', () => resolve(false));
        s.on('data', () => { resolve(true); s.destroy(); });
        s.write('ping');
      });
      server.listen().then(async ({ port }) => {
        const clients = ${JSON.stringify(datapath)} === 'uring' ? peers(port, 0) : undefined;
        // Six back on net: five for the clients' sockets, one for Node's own use. None on uring,
        // whose clients are another process's.
        const spare = useUpDescriptorsBut(clients === undefined ? 6 : 0);
        const first = [];
        for (let i = 0; i < 5; i++) clients === undefined ? first.push(echoed(port)) : clients.more();
        // Until the server has paused (the other process's clients take a moment to start).
        for (let i = 0; i < 500 && clients !== undefined && !warnings.includes('RIOPOOL_ACCEPT'); i++) await sleep(10);
        await sleep(200);
        const before = pool.stats().io.opsSubmitted;
        await sleep(1000);
        const opsWhileOut = pool.stats().io.opsSubmitted - before;
        for (const fd of spare) fs.closeSync(fd);
        let answers;
        if (clients === undefined) answers = await Promise.all([...first, echoed(port)]);
        else {
          clients.more();
          answers = await clients.answers();
        }
        server.closeAllConnections();
        await server.close();
        await pool.close({ timeout: 5000 });
        console.log(JSON.stringify({ answers, uncaught, warnings, opsWhileOut, datapath: pool.stats().io.datapath }));
      });
    `;
    const out = runOutOfDescriptors(script);
    expect(out).toMatchObject({ uncaught: 0, datapath });
    if (datapath === 'uring') {
      // Every client waited in the backlog and was answered; one RIOPOOL_ACCEPT for the pause; a
      // handful of accepts tried while out (a busy loop submits tens of thousands a second).
      expect(out.answers).toEqual([true, true, true, true, true, true]);
      expect(out.warnings.filter((w: string) => w === 'RIOPOOL_ACCEPT')).toHaveLength(1);
      expect(out.opsWhileOut).toBeLessThan(100);
    } else {
      // node:net closes connections it cannot accept (libuv's spare descriptor): the one after is answered.
      expect(out.answers[5]).toBe(true);
    }
  });

  test('pool.close() while every accept is paused: nothing thrown, the server and the pool still close (uring)', () => {
    if (!isLinux) return;
    // 20 clients make all 16 armed accepts fail: while paused the listener has no operation in
    // flight, and the pool's close must not take the ring from under the next accept.
    const out = runOutOfDescriptors(`
      let uncaught = [];
      process.on('uncaughtException', (e) => uncaught.push(String(e && e.code)));
      const pool = riopool.createPool();
      const server = riopool.createServer(pool, { datapath: 'uring' }, (conn) => conn.on('error', () => {}));
      const errors = [];
      server.on('error', (e) => errors.push(e.code));
      server.listen().then(async ({ port }) => {
        const clients = peers(port, 0);
        const spare = useUpDescriptorsBut(0);
        for (let i = 0; i < 20; i++) clients.more();
        // Until every armed accept has failed and the listener paused (the peers take a moment).
        for (let i = 0; i < 500 && errors.length === 0; i++) await sleep(10);
        await sleep(100);
        const inFlight = pool.stats().io.opsInFlight;
        const closing = pool.close({ timeout: 10000 });
        await sleep(700); // probes after 10, 20, 40, 80, 160 and 320 ms
        for (const fd of spare) fs.closeSync(fd);
        await sleep(1000);
        await clients.end();
        server.closeAllConnections();
        await server.close();
        await closing;
        console.log(JSON.stringify({ uncaught, errors, inFlight }));
      });
    `);
    expect(out.uncaught).toEqual([]);
    expect(out.errors).toEqual(['EMFILE']);
    expect(out.inFlight).toBe(0); // every accept paused: none in flight
  });
});
