/**
 * Servers and clients in processes of their own, for the scenarios (and tests) that measure a
 * server's memory from outside: the example Redis server (uring) and the bench's other servers
 * (plain, net, stream) as child processes, read through /proc/<pid>/status; idle clients in
 * other processes (the machine caps a process at 20,000 open files, the server's and the
 * clients' sockets together would not fit in one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export type ServerKind = 'uring' | 'plain' | 'net' | 'stream';

/** The compiled bench (tests import this file from its source, the children run the JavaScript). */
const DIST = path.basename(__dirname) === 'dist' ? __dirname : path.join(__dirname, 'dist');

export interface ServerProcess {
  kind: ServerKind;
  port: number;
  child: ChildProcess;
  /** VmPin, VmRSS and VmLck of the server now, in bytes (/proc/<pid>/status). */
  memory(): { pinned: number; rss: number; locked: number };
  stop(): Promise<void>;
}

/** The node command that runs a server: the example for uring, bench/redis-servers.js for the others. */
export function serverArgs(kind: ServerKind, port = 0): string[] {
  return kind === 'uring'
    ? [require.resolve('@riopool/examples/redis-server'), String(port)]
    : [path.join(DIST, 'redis-servers.js'), String(port), kind];
}

/** /proc/<pid>/status's figures, in bytes. */
export function processMemory(pid: number): { pinned: number; rss: number; locked: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { pinned: kb('VmPin'), rss: kb('VmRSS'), locked: kb('VmLck') };
}

/**
 * Starts a server process and resolves once it listens (it prints its port). `command` runs
 * it some other way (taskset, or as another user: the node binary and its arguments are
 * appended to it).
 */
export function startServerProcess(
  kind: ServerKind,
  options: { command?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<ServerProcess> {
  const [cmd, ...pre] = [...(options.command ?? []), process.execPath];
  const child = spawn(cmd!, [...pre, ...serverArgs(kind)], { stdio: ['ignore', 'pipe', 'inherit'], env: options.env ?? process.env });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the ${kind} server did not start in 30 s`)), 30_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`the ${kind} server exited (${code}) before listening: ${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /127\.0\.0\.1:(\d+) \(io (\w+)/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const pid = child.pid!;
      const stop = () =>
        new Promise<void>((r) => {
          if (child.exitCode !== null || child.signalCode !== null) return r();
          child.once('exit', () => r());
          child.kill('SIGKILL');
        });
      resolve({ kind, port: Number(m[1]), child, memory: () => processMemory(pid), stop });
    });
  });
}

export interface IdleClients {
  /** Connections open now (all of those asked for, once started). */
  count: number;
  child: ChildProcess;
  /** Closes every connection and ends the process. */
  stop(): Promise<void>;
}

/** Opens `count` idle connections to 127.0.0.1:port from a process of their own (bench/idle-clients.js). */
export function startIdleClients(port: number, count: number): Promise<IdleClients> {
  const child = spawn(process.execPath, [path.join(DIST, 'idle-clients.js'), String(port), String(count)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`idle clients exited (${code}): ${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^open (\d+)$/m.exec(out);
      if (m === null) return;
      child.removeAllListeners('exit');
      const stop = () =>
        new Promise<void>((r) => {
          if (child.exitCode !== null) return r();
          child.once('exit', () => r());
          child.stdin!.end(); // the clients close their sockets and exit
        });
      resolve({ count: Number(m[1]), child, stop });
    });
  });
}
