/**
 * Idle clients, in a process of their own: opens <count> TCP connections to 127.0.0.1:<port>,
 * sends nothing, prints `open <count>` once they are all established, and closes them all and
 * exits when its stdin ends (bench/processes.ts, startIdleClients).
 *
 *   node bench/dist/idle-clients.js <port> <count>
 */
import * as net from 'node:net';

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  const count = Number(process.argv[3]);
  const sockets: net.Socket[] = [];
  // A few hundred at a time: the listen backlog takes the rest as the server accepts.
  for (let opened = 0; opened < count; ) {
    const batch = Math.min(200, count - opened);
    await Promise.all(
      Array.from(
        { length: batch },
        () =>
          new Promise<void>((resolve, reject) => {
            const s = net.connect(port, '127.0.0.1', () => resolve());
            s.once('error', reject);
            sockets.push(s);
          }),
      ),
    );
    opened += batch;
  }
  for (const s of sockets) s.on('error', () => {}); // the server may go first
  console.log(`open ${sockets.length}`);
  process.stdin.resume();
  process.stdin.once('end', () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}

void main().catch((e: Error) => {
  console.error(`idle-clients: ${e.message}`);
  process.exit(1);
});
