import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../workflows/searchAttributes';
import { findTemporalCli } from './temporalCli';

export interface DevServerOptions {
  /** SQLite file for the server's state; in memory when absent. */
  dbFile?: string;
  ip?: string;
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one; null runs headless. */
  uiPort?: number | null;
  namespace?: string;
  /** Where the server's own output goes. */
  logFile: string;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  namespace: string;
  /** The server process (the temporal CLI runs the whole dev server in it), e.g. to read its CPU time from /proc. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The start-dev arguments, as data (our search attributes registered up front). */
export function devServerArgs(o: { ip: string; port: number; uiPort: number | null; namespace: string; dbFile?: string }): string[] {
  const args = ['server', 'start-dev', '--ip', o.ip, '--port', String(o.port), '--namespace', o.namespace, '--log-level', 'warn'];
  if (o.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  for (const key of ALL_SEARCH_ATTRIBUTE_KEYS) args.push('--search-attribute', `${key.name}=Keyword`);
  return args;
}

/** Starts `temporal server start-dev` and resolves once its frontend answers a health check. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port || (await freePort(ip));
  const uiPort = options.uiPort === null ? null : options.uiPort || (await freePort(ip));
  const namespace = options.namespace ?? 'default';
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });
  mkdirSync(dirname(options.logFile), { recursive: true });

  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(findTemporalCli(), devServerArgs({ ip, port, uiPort, namespace, dbFile: options.dbFile }), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));

  const address = `${ip}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`temporal dev server ${exited} before it answered; see ${options.logFile}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.healthService.check({});
      await connection.workflowService.describeNamespace({ namespace });
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        throw new Error(`temporal dev server on ${address} did not answer within ${options.startTimeoutMs ?? 60_000} ms (${(err as Error).message}); see ${options.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  return {
    address,
    uiUrl: uiPort === null ? null : `http://${ip}:${uiPort}`,
    namespace,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (exited) return resolveStop();
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(force);
          log.end();
          resolveStop();
        });
        child.kill('SIGTERM');
      }),
  };
}
