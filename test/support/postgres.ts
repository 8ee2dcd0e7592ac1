import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { postgresBinaries, waitForPostgres } from '../../db/postgresServer';
import { freePort } from '../../workers/devServer';

export interface PostgresCluster {
  url: string;
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL cluster in a temp directory (trust auth, loopback only, its own socket dir).
 * PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` OS user.
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const { exec, own } = await postgresBinaries();

  const dir = await mkdtemp(path.join(tmpdir(), 'fraisier-pg-'));
  const dataDir = path.join(dir, 'data');
  await own(dir);
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
    await waitForPostgres(url, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return { url, stop: () => (stopping ??= stop()) };
}
