import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** Where `npm start` keeps its embedded database, relative to the working directory. */
export const DEFAULT_PGLITE_DIR = '.data/pglite';

/** Several clients at once: the worker's pool, a CLI or two, a psql for debugging. */
const MAX_CONNECTIONS = 32;

export interface EmbeddedDatabaseOptions {
  /** PGlite's data directory; created when missing, reopened when it exists. */
  dataDir: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface EmbeddedDatabase {
  /** A postgres:// URL any `pg` client can use. */
  url: string;
  /** Where the URL was written for other processes (see `embeddedUrlFile`). */
  urlFile: string;
  stop(): Promise<void>;
}

/** The file a running embedded server writes its URL to: `<dataDir>/../<basename>.url`. */
export function embeddedUrlFile(dataDir: string): string {
  const abs = path.resolve(dataDir);
  return path.join(path.dirname(abs), `${path.basename(abs)}.url`);
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** True when something accepts TCP connections at the URL's host and port. */
async function reachable(url: string): Promise<boolean> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = Number(parsed.port || 5432);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Extended-protocol messages that leave a query unfinished until the client's Sync. */
const EXTENDED_MESSAGES = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
const SYNC = 'S'.charCodeAt(0);
const QUERY = 'Q'.charCodeAt(0);

/**
 * The socket server (0.2.17) queues each protocol *message* separately and only keeps other clients out
 * while `db.isInTransaction()`. A pg query is several messages (Parse, Bind, Execute, Sync) and PGlite is
 * one backend session, so another client's Parse landing between them replaces the unnamed statement
 * ("bind message supplies 0 parameters...") or is swallowed while the backend skips to Sync after an
 * error. This view of the PGlite instance reports "in a transaction" from a client's first extended
 * message until its Sync, so the server's queue serves that client alone until its query is complete.
 */
function guardExtendedQueries(db: PGlite): PGlite {
  let midQuery = false;
  const execProtocolRawStream: PGlite['execProtocolRawStream'] = async (message, options) => {
    const type = message[0];
    try {
      return await db.execProtocolRawStream(message, options);
    } finally {
      if (type !== undefined && EXTENDED_MESSAGES.has(type)) midQuery = true;
      else if (type === SYNC || type === QUERY) midQuery = false;
    }
  };
  const isInTransaction: PGlite['isInTransaction'] = () => midQuery || db.isInTransaction();
  // The server calls exec('ROLLBACK') when a client leaves mid-transaction; if it left mid-query the
  // backend first needs a Sync to leave the extended-protocol state (and its error-skipping mode).
  const exec: PGlite['exec'] = async (query, options) => {
    if (midQuery) {
      midQuery = false;
      await db.execProtocolRaw(new Uint8Array([SYNC, 0, 0, 0, 4]));
    }
    return db.exec(query, options);
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'execProtocolRawStream') return execProtocolRawStream;
      if (prop === 'isInTransaction') return isInTransaction;
      if (prop === 'exec') return exec;
      const value: unknown = Reflect.get(target, prop, target);
      // PGlite's methods use private fields: call them on the instance, not on the proxy.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Opens PGlite persisted in `dataDir` and serves it over the PostgreSQL wire protocol, so the worker and
 * the CLI can use it at the same time with ordinary `pg` clients. PGlite is a single session: the socket
 * server runs the clients' messages one at a time, and while one client is inside a transaction (or, with
 * the guard below, inside a multi-message query) it serves that client alone, so callers should keep
 * transactions short.
 *
 * Refuses to start when another live server already serves the same directory (two PGlite instances on
 * one data directory would corrupt it); a URL file left by a crashed server is replaced. The check is
 * advisory (two servers started in the same instant could both pass it); `npm start` is the only caller.
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const urlFile = embeddedUrlFile(dataDir);

  const existing = await readFile(urlFile, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  if (existing !== undefined && existing !== '' && (await reachable(existing))) {
    throw new Error(`an embedded database for ${dataDir} is already running at ${existing} (see ${urlFile})`);
  }

  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({
    db: guardExtendedQueries(db),
    host,
    port: options.port ?? 0,
    maxConnections: MAX_CONNECTIONS,
  });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  // getServerConn() reports `host:port` with the port actually bound (useful when asked for port 0).
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
  const url = `postgres://postgres@${urlHost(host)}:${port}/postgres`;
  // Written whole then renamed, so a CLI never reads half a URL.
  const partial = `${urlFile}.${process.pid}.tmp`;
  await writeFile(partial, `${url}\n`, 'utf8');
  await rename(partial, urlFile);

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    await server.stop();
    await db.close();
    // Only remove the file if it is still ours.
    const current = await readFile(urlFile, 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    );
    if (current === url) await rm(urlFile, { force: true });
  };
  return {
    url,
    urlFile,
    stop: () => (stopping ??= stop()),
  };
}
