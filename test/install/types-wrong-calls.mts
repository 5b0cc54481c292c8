// Wrong calls: each line below must be a type error. `@ts-expect-error` makes tsc fail on a line
// that is NOT an error (TS2578), so this file type-checks only while every one is rejected.
import { connect, createPool, createServer, type Connection, type Lease } from '@riopool/pool';

const pool = createPool();
declare const conn: Connection;
const server = createServer(pool);

// @ts-expect-error: a connection has no 'dta' event
conn.on('dta', () => undefined);
// @ts-expect-error: a 'data' listener gets a Lease, not a string
conn.on('data', (chunk: string) => void chunk);
// @ts-expect-error: 'close' hands a boolean
conn.once('close', (why: string) => void why);
// @ts-expect-error: a server's 'listening' hands nothing
server.on('listening', (port: string) => void port);
// @ts-expect-error: 'connection' hands a Connection
server.on('connection', (lease: Lease) => void lease);
// @ts-expect-error: no option 'bakend'
createPool({ bakend: 'none' });
// @ts-expect-error: no close option 'timout'
void pool.close({ timout: 5 });
// @ts-expect-error: signal is an AbortSignal
void server.listen({ signal: 'stop' });
// @ts-expect-error: connect takes { port }, not a port number
void connect(pool, 6379);
// @ts-expect-error: a length is a number
pool.acquire('512 bytes');
// @ts-expect-error: lease.rioBuf is read-only
pool.acquire(1).rioBuf = { bufferId: 0, offset: 0, length: 1 };
