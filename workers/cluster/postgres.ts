/** The cluster's PostgreSQL: its own Debian cluster (init, start, stop), passwords, and Temporal's schemas. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import type { PostgresBinaries } from '../../db/postgresServer';
import { type Binaries, type ClusterPaths, DATABASES, HOST, PG_ROLE, type Secrets, portIsFree, tail, versionedSchemaDir } from './layout';


export async function loadSecrets(paths: ClusterPaths): Promise<Secrets> {
  try {
    const parsed: unknown = JSON.parse(await readFile(paths.secretsFile, 'utf8'));
    if (parsed && typeof parsed === 'object' && 'postgres' in parsed && 'temporal' in parsed) {
      const { postgres, temporal } = parsed;
      if (typeof postgres === 'string' && typeof temporal === 'string') return { postgres, temporal };
    }
    throw new Error('not {postgres, temporal}');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`${paths.secretsFile} cannot be read (${(err as Error).message}): remove ${paths.root} to start over`);
    }
  }
  if (existsSync(join(paths.postgres, 'PG_VERSION'))) {
    throw new Error(`${paths.secretsFile} is missing but ${paths.postgres} exists: its passwords are lost; remove ${paths.root} to start over`);
  }
  // Hex: safe inside SQL literals, YAML and URLs alike.
  const secrets = { postgres: randomBytes(18).toString('hex'), temporal: randomBytes(18).toString('hex') };
  await writeFile(paths.secretsFile, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  return secrets;
}

export function superuser(port: number, secrets: Secrets, database = 'postgres'): pg.ClientConfig {
  return { host: HOST, port, user: 'postgres', password: secrets.postgres, database, connectionTimeoutMillis: 5_000 };
}

export async function withClient<T>(config: pg.ClientConfig, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function postgresRunning(bins: PostgresBinaries, paths: ClusterPaths): Promise<boolean> {
  if (!existsSync(join(paths.postgres, 'PG_VERSION'))) return false;
  try {
    await bins.exec('pg_ctl', ['status', '-D', paths.postgres], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** The port a running PostgreSQL of ours listens on (postmaster.pid, line 4). */
export async function runningPostgresPort(paths: ClusterPaths): Promise<number | null> {
  try {
    const port = Number((await readFile(join(paths.postgres, 'postmaster.pid'), 'utf8')).split('\n')[3]);
    return Number.isInteger(port) && port > 0 ? port : null;
  } catch {
    return null;
  }
}

export async function initPostgres(bins: PostgresBinaries, paths: ClusterPaths, secrets: Secrets, log: (l: string) => void): Promise<void> {
  log(`creating a PostgreSQL cluster in ${paths.postgres}`);
  await mkdir(paths.postgres, { recursive: true });
  await bins.own(paths.postgres);
  await chmod(paths.postgres, 0o700);
  if (bins.asPostgresUser) {
    try {
      await execa('runuser', ['-u', 'postgres', '--', 'test', '-w', paths.postgres], { timeout: 10_000 });
    } catch {
      throw new Error(
        `the postgres OS user cannot reach ${paths.postgres}: make its parent directories searchable by others (chmod o+x), or set FRAISIER_DATA_DIR to a directory it can reach`,
      );
    }
  }
  const pwfile = join(paths.root, '.initdb-password');
  await writeFile(pwfile, secrets.postgres + '\n', { mode: 0o600 });
  await bins.own(pwfile);
  try {
    await bins.exec(
      'initdb',
      ['-D', paths.postgres, '-U', 'postgres', '-E', 'UTF8', '--auth-local=peer', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`],
      { timeoutMs: 120_000 },
    );
  } catch (err) {
    throw new Error(`initdb in ${paths.postgres} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  } finally {
    await rm(pwfile, { force: true });
  }
  // Loopback TCP only, no Unix socket (nothing to clash with the system's), room for four services' pools.
  await appendFile(
    join(paths.postgres, 'postgresql.conf'),
    ["\n# fraisier cluster (npm run cluster)", "listen_addresses = '127.0.0.1'", "unix_socket_directories = ''", 'max_connections = 200', ''].join('\n'),
  );
}

export async function startPostgres(bins: PostgresBinaries, paths: ClusterPaths, port: number, log: (l: string) => void): Promise<void> {
  if (!(await portIsFree(port))) {
    throw new Error(`PostgreSQL's port ${HOST}:${port} is in use: set FRAISIER_CLUSTER_PG_PORT to a free port (or stop what listens there)`);
  }
  const logFile = join(paths.logs, 'postgres.log');
  await appendFile(logFile, '');
  await bins.own(logFile);
  log(`starting PostgreSQL on ${HOST}:${port}`);
  try {
    await bins.exec('pg_ctl', ['start', '-w', '-t', '60', '-D', paths.postgres, '-l', logFile, '-o', `-p ${port}`], { timeoutMs: 90_000 });
  } catch (err) {
    throw new Error(`PostgreSQL did not start (pg_ctl: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}); ${logFile}:\n${await tail(logFile)}`);
  }
}

export async function stopPostgres(bins: PostgresBinaries, paths: ClusterPaths, log: (l: string) => void): Promise<void> {
  if (!(await postgresRunning(bins, paths))) return;
  log('stopping PostgreSQL');
  try {
    await bins.exec('pg_ctl', ['stop', '-D', paths.postgres, '-m', 'fast', '-w', '-t', '60'], { timeoutMs: 90_000 });
  } catch (err) {
    throw new Error(`PostgreSQL did not stop (pg_ctl: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}); see ${join(paths.logs, 'postgres.log')}`);
  }
}

/** The temporal role, its two databases and their schemas, created or brought up to the server's version. */
export async function ensureSchemas(bins: Binaries, paths: ClusterPaths, port: number, secrets: Secrets, log: (l: string) => void): Promise<void> {
  await withClient(superuser(port, secrets), async (c) => {
    const exists = (await c.query('select 1 from pg_roles where rolname = $1', [PG_ROLE])).rowCount === 1;
    // The password is hex (ours), so it can sit in the statement.
    await c.query(`${exists ? 'alter' : 'create'} role ${PG_ROLE} with login createdb password '${secrets.temporal}'`);
  });
  const schemaLog = join(paths.logs, 'schema.log');
  const env = { SQL_PLUGIN: 'postgres12', SQL_HOST: HOST, SQL_PORT: String(port), SQL_USER: PG_ROLE, SQL_PASSWORD: secrets.temporal };
  const sqlTool = async (db: string, args: string[]): Promise<void> => {
    const r = await execa(bins.sqlTool, args, { env: { ...env, SQL_DATABASE: db }, all: true, reject: false, timeout: 180_000 });
    await appendFile(schemaLog, `$ temporal-sql-tool ${args.join(' ')}  (database ${db})\n${r.all ?? ''}\n`);
    if (r.exitCode !== 0 || r.timedOut) {
      throw new Error(`temporal-sql-tool ${args[0]} on database ${db} failed${r.timedOut ? ' (timed out)' : ''}:\n${(r.all ?? '').trim().split('\n').slice(-10).join('\n')}`);
    }
  };
  for (const db of DATABASES) {
    const present = await withClient(superuser(port, secrets), async (c) => (await c.query('select 1 from pg_database where datname = $1', [db.name])).rowCount === 1);
    if (!present) {
      log(`creating database ${db.name}`);
      await sqlTool(db.name, ['create-database']);
    }
    const versioned = await withClient(superuser(port, secrets, db.name), async (c) => {
      const r = await c.query<{ present: boolean }>("select to_regclass('public.schema_version') is not null as present");
      return r.rows[0]?.present === true;
    });
    if (!versioned) await sqlTool(db.name, ['setup-schema', '-v', '0.0']);
    await sqlTool(db.name, ['update-schema', '-d', versionedSchemaDir(bins.schemaDir, db.schema)]);
    const version = await withClient(superuser(port, secrets, db.name), async (c) => {
      const r = await c.query<{ curr_version: string }>('select curr_version from schema_version limit 1');
      return r.rows[0]?.curr_version ?? '?';
    });
    log(`database ${db.name}: schema ${version}`);
  }
}

