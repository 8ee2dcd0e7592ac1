/**
 * Running the Debian PostgreSQL server binaries (initdb, pg_ctl) of this machine: shared by the tests' throwaway
 * clusters and `npm run cluster`. PostgreSQL refuses to run as root, so as root they run as the `postgres` OS user.
 */
import { execFile } from 'node:child_process';
import { chown, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The directory holding initdb and pg_ctl: pg_config's, else the newest /usr/lib/postgresql/<version>/bin. */
export async function postgresBinDir(): Promise<string> {
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    const dir = stdout.trim();
    const entries = await readdir(dir);
    if (entries.includes('initdb') && entries.includes('pg_ctl')) return dir;
  } catch {
    // No pg_config, or it points at a client-only install: look for a server install below.
  }
  const root = '/usr/lib/postgresql';
  const versions = await readdir(root).catch((): string[] => []);
  for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = path.join(root, v, 'bin');
    const entries = await readdir(dir).catch((): string[] => []);
    if (entries.includes('initdb') && entries.includes('pg_ctl')) return dir;
  }
  throw new Error(
    'PostgreSQL server binaries not found (no pg_config --bindir, nothing in /usr/lib/postgresql/*/bin): install them (apt-get install postgresql, or npm run setup as root)',
  );
}

/** Whether the server binaries run as the `postgres` OS user (we are root) or as ourselves. */
export function runsAsPostgresUser(): boolean {
  return process.getuid?.() === 0;
}

export interface PostgresBinaries {
  bin: string;
  asPostgresUser: boolean;
  /** Runs bin/<file> with args (as the postgres user when root); rejects with its stderr when it fails. */
  exec(file: string, args: string[], options?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /** Hands a directory to the user the server runs as (a no-op unless root). */
  own(dir: string): Promise<void>;
}

export async function postgresBinaries(): Promise<PostgresBinaries> {
  const bin = await postgresBinDir();
  const asPostgresUser = runsAsPostgresUser();
  const exec = (file: string, args: string[], options: { timeoutMs?: number } = {}) => {
    const timeout = options.timeoutMs ?? 0;
    return asPostgresUser
      ? run('runuser', ['-u', 'postgres', '--', path.join(bin, file), ...args], { timeout })
      : run(path.join(bin, file), args, { timeout });
  };
  const own = async (dir: string): Promise<void> => {
    if (!asPostgresUser) return;
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(uid.trim()), Number(gid.trim()));
  };
  return { bin, asPostgresUser, exec, own };
}

/** Resolves once PostgreSQL at `url` answers a query; rejects after `timeoutMs` with the last error as cause. */
export async function waitForPostgres(url: string | pg.ClientConfig, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  const config = typeof url === 'string' ? { connectionString: url } : url;
  while (Date.now() < deadline) {
    const client = new pg.Client({ ...config, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch (error) {
      last = error;
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const where = typeof url === 'string' ? url : `${url.host ?? '127.0.0.1'}:${url.port ?? 5432}`;
  throw new Error(`PostgreSQL at ${where} did not accept connections in ${timeoutMs} ms`, { cause: last });
}
