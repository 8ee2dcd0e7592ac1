import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PostgresCluster {
  url: string;
  stop(): Promise<void>;
}

async function binDir(): Promise<string> {
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
  throw new Error('PostgreSQL server binaries not found (no pg_config --bindir, nothing in /usr/lib/postgresql/*/bin)');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForConnections(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url });
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
  throw new Error(`PostgreSQL at ${url} did not accept connections in ${timeoutMs} ms`, { cause: last });
}

/**
 * A throwaway PostgreSQL cluster in a temp directory (trust auth, loopback only, its own socket dir).
 * PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` OS user.
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = await binDir();
  const asRoot = process.getuid?.() === 0;
  const exec = (file: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, file), ...args]) : run(path.join(bin, file), args);

  const dir = await mkdtemp(path.join(tmpdir(), 'fraisier-pg-'));
  const dataDir = path.join(dir, 'data');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);

  // -U postgres: the superuser is "postgres" whoever runs initdb, so the URL below always works.
  try {
    await exec('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let port = 0;
  let started = false;
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    port = await freePort();
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    try {
      await exec('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-o', options]);
      started = true;
    } catch (error) {
      // Most likely the port was taken between freePort() and bind: try another one.
      if (attempt === 2) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = async (): Promise<void> => {
    await exec('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForConnections(url, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return { url, stop: () => (stopping ??= stop()) };
}
