// Type-checked in a consumer project (test/install/run.sh, and packages/pool/test/19.consumer-types.test.ts
// against the workspace's build) with module nodenext and strict: the idioms of current Node,
// from an ES module.
import { connect, createPool, createServer, isRioError, writeLeaseAsync, type Connection, type Lease, type RioBuf } from '@riopool/pool';
import type { Socket } from 'node:net';

await using pool = createPool({ backend: 'none' });
{
  using lease = pool.acquire(64);
  const rio: RioBuf = lease.rioBuf;
  const text: string = lease.bytes.toString('utf8', 0, lease.bytes.write('hi'));
  void [rio, text];
}
await using server = createServer(pool, { allowHalfOpen: true }, async (conn: Connection) => {
  for await (using lease of conn) conn.write(lease);
  conn.end();
});
server.on('connection', (conn) => conn.on('error', (e) => void e.code));
const { port } = await server.listen({ port: 0, signal: AbortSignal.timeout(10_000) });
await using client = await connect(pool, { port, signal: new AbortController().signal });
client.on('data', (lease: Lease) => lease.release());
client.on('close', (hadError: boolean) => void hadError);
try {
  await pool.close({ timeout: 1, signal: AbortSignal.timeout(5) });
} catch (e) {
  if (isRioError(e, 'ERR_RIO_OUTSTANDING')) console.log(e.message);
}
export async function send(socket: Socket, lease: Lease): Promise<void> {
  await writeLeaseAsync(socket, lease);
}
