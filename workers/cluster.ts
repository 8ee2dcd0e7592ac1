/**
 * `npm run cluster [start|stop|status]`: a production-shaped Temporal on this machine. PostgreSQL (its own
 * cluster under <data dir>/cluster/postgres, loopback, password auth) holds both the default and the SQL
 * visibility store; the server's four services (frontend, history, matching, worker) run as separate
 * `temporal-server` processes with 4 history shards, as they would on separate machines. The namespace and
 * fraisier's search attributes are registered. Everything it starts keeps running after the command exits;
 * `stop` stops it. The same functions serve the tests (startCluster).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { execa } from 'execa';
import pg from 'pg';
import { stringify } from 'yaml';
import { dataDir as defaultDataDir, PACKAGE_ROOT } from '../config/paths';
import { postgresBinaries, waitForPostgres, type PostgresBinaries } from '../db/postgresServer';
import { ensureNamespace } from './prepareNamespace';
import { ensureSearchAttributes } from './searchAttributes';

/** The server version setup builds (scripts/setup.sh, TEMPORAL_SERVER_VERSION): its schemas are the ones applied. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const NUM_HISTORY_SHARDS = 4;
export const DEFAULT_FRONTEND_PORT = 7233;
export const DEFAULT_PG_PORT = 55432;
const HOST = '127.0.0.1';
const DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;
const PG_ROLE = 'temporal';

/** Every port the cluster listens on, all on 127.0.0.1. */
export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  postgres: number;
}

/**
 * The ports, derived from the frontend's as Temporal's own development config lays them out (7233: history
 * 7234, matching 7235, worker 7239, HTTP API 7243, membership 6933/6934/6935/6939).
 */
export function clusterPorts(frontend: number, postgres: number): ClusterPorts {
  if (!Number.isInteger(frontend) || frontend < 1324 || frontend > 65525) {
    throw new Error(`frontend port ${frontend} is out of range: the cluster uses it and ports from ${frontend - 300} to ${frontend + 10}`);
  }
  if (!Number.isInteger(postgres) || postgres < 1 || postgres > 65535) throw new Error(`PostgreSQL port ${postgres} is out of range`);
  return {
    frontend,
    frontendHttp: frontend + 10,
    frontendMembership: frontend - 300,
    history: frontend + 1,
    historyMembership: frontend - 299,
    matching: frontend + 2,
    matchingMembership: frontend - 298,
    worker: frontend + 6,
    workerMembership: frontend - 294,
    postgres,
  };
}

function servicePorts(ports: ClusterPorts, service: ServiceName): { grpc: number; membership: number } {
  return { grpc: ports[service], membership: ports[`${service}Membership`] };
}

/** Where everything lives, under <data dir>/cluster. */
export interface ClusterPaths {
  root: string;
  postgres: string;
  logs: string;
  run: string;
  config: string;
  configFile: string;
  dynamicConfigFile: string;
  stateFile: string;
  secretsFile: string;
}

export function clusterPaths(dataDir: string): ClusterPaths {
  const root = join(resolve(dataDir), 'cluster');
  const config = join(root, 'config');
  return {
    root,
    postgres: join(root, 'postgres'),
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    config,
    // temporal-server reads <config dir>/base.yaml then <config dir>/<env>.yaml: we run it with --env fraisier.
    configFile: join(config, 'fraisier.yaml'),
    dynamicConfigFile: join(config, 'dynamicconfig.yaml'),
    stateFile: join(root, 'cluster.json'),
    secretsFile: join(root, 'secrets.json'),
  };
}

export interface ClusterOptions {
  /** fraisier's data dir (FRAISIER_DATA_DIR, else .data/); the cluster lives in its cluster/ folder. */
  dataDir?: string;
  /** The frontend's gRPC port (FRAISIER_CLUSTER_PORT, else 7233); the other services' ports follow from it. */
  frontendPort?: number;
  /** PostgreSQL's port (FRAISIER_CLUSTER_PG_PORT, else 55432). */
  pgPort?: number;
  namespace?: string;
  /** Retention of a namespace it registers (a Temporal duration: '3 days', '72h'). */
  retention?: string;
  /** Progress lines; silent by default. */
  log?: (line: string) => void;
  /** How long the four services may take to answer, each time they start. */
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunningCluster {
  /** The frontend, for TEMPORAL_ADDRESS. */
  address: string;
  namespace: string;
  ports: ClusterPorts;
  paths: ClusterPaths;
  /** How long this start took, ms. */
  startedInMs: number;
  /** The live services' process ids. */
  pids(): Record<ServiceName, number | null>;
  /**
   * Stops the four Temporal services; PostgreSQL keeps running. SIGTERM (a clean shutdown, SIGKILL after 30 s)
   * by default; `{ signal: 'SIGKILL' }` for a crash.
   */
  stopServices(o?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Starts the four Temporal services again (those not running) and waits until they answer. */
  startServices(): Promise<void>;
  /** Stops the services, then PostgreSQL. */
  stop(): Promise<void>;
}

export interface ClusterStatus {
  address: string | null;
  ports: ClusterPorts | null;
  postgres: boolean;
  services: Record<ServiceName, number | null>;
  paths: ClusterPaths;
}

interface Binaries {
  server: string;
  sqlTool: string;
  schemaDir: string;
}

interface Secrets {
  postgres: string;
  temporal: string;
}

interface State {
  version: string;
  frontendPort: number;
  pgPort: number;
  namespace: string;
}

const SETUP_HINT = 'run "npm run setup" (it builds them into .tools/bin; needs Go)';

/** temporal-server, temporal-sql-tool and the PostgreSQL schemas: TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_SCHEMA_DIR, else .tools/. */
export function findClusterBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  const tools = join(PACKAGE_ROOT, '.tools');
  const server = env.TEMPORAL_SERVER || join(tools, 'bin', 'temporal-server');
  const sqlTool = env.TEMPORAL_SQL_TOOL || join(tools, 'bin', 'temporal-sql-tool');
  const schemaDir = env.TEMPORAL_SCHEMA_DIR || join(tools, 'temporal-schema');
  if (!existsSync(server)) throw new Error(`no temporal server at ${server}: ${SETUP_HINT}, or set TEMPORAL_SERVER`);
  if (!existsSync(sqlTool)) throw new Error(`no temporal SQL tool at ${sqlTool}: ${SETUP_HINT}, or set TEMPORAL_SQL_TOOL`);
  for (const db of DATABASES) {
    const dir = versionedSchemaDir(schemaDir, db.schema);
    if (!existsSync(dir)) throw new Error(`no PostgreSQL schema at ${dir}: ${SETUP_HINT} (it copies them from the server module), or set TEMPORAL_SCHEMA_DIR`);
  }
  return { server, sqlTool, schemaDir };
}

function versionedSchemaDir(schemaDir: string, schema: string): string {
  return join(schemaDir, 'postgresql', 'v12', schema, 'versioned');
}

function portFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}=${raw} is not a port number`);
  return port;
}

export async function portIsFree(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolveFree(true)));
  });
}

/** A frontend port whose whole set of cluster ports is free, and a free PostgreSQL port (for tests). */
export async function freeClusterPorts(): Promise<{ frontendPort: number; pgPort: number }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    // Below Linux's ephemeral range (32768+), so outgoing connections do not take them meanwhile.
    const frontendPort = 20_000 + Math.floor(Math.random() * 12_000);
    const pgPort = frontendPort + 100;
    const ports = Object.values(clusterPorts(frontendPort, pgPort));
    const free = await Promise.all(ports.map((p) => portIsFree(p)));
    if (free.every(Boolean)) return { frontendPort, pgPort };
  }
  throw new Error('no free set of ports for a cluster found between 19700 and 32110');
}

// ---------------------------------------------------------------------------------------------- processes

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return true;
}

/** The pid in a service's pid file, when that process is alive and is that service (not a reused pid). */
function servicePid(paths: ClusterPaths, service: ServiceName): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(paths.run, `${service}.pid`), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return null;
  try {
    // A zombie has an empty command line; another program has another one.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!argv.includes('start') || !argv.includes(service) || !argv.includes(paths.root)) return null;
  } catch {
    return null;
  }
  return pid;
}

function servicePids(paths: ClusterPaths): Record<ServiceName, number | null> {
  const out = {} as Record<ServiceName, number | null>;
  for (const s of SERVICES) out[s] = servicePid(paths, s);
  return out;
}

/** The last lines of a log, each cut short, with the last error lines before them (what usually explains a failure). */
async function tail(file: string, lines = 6): Promise<string> {
  try {
    const all = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const last = all.slice(-lines);
    const errors = all.slice(0, -lines).filter((l) => /"level":"(error|dpanic|panic|fatal)"|^Unable|ERROR|FATAL/.test(l)).slice(-3);
    return [...errors, ...(errors.length > 0 ? ['…'] : []), ...last].map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l)).join('\n');
  } catch {
    return '(no log)';
  }
}

async function serviceLogTails(paths: ClusterPaths, services: readonly ServiceName[]): Promise<string> {
  const parts: string[] = [];
  for (const s of services) parts.push(`--- ${join(paths.logs, `${s}.log`)} (last lines)\n${await tail(join(paths.logs, `${s}.log`))}`);
  return parts.join('\n');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitUntilGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = left.filter(alive);
  }
  return left;
}

// ---------------------------------------------------------------------------------------------- PostgreSQL

async function loadSecrets(paths: ClusterPaths): Promise<Secrets> {
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

function superuser(port: number, secrets: Secrets, database = 'postgres'): pg.ClientConfig {
  return { host: HOST, port, user: 'postgres', password: secrets.postgres, database, connectionTimeoutMillis: 5_000 };
}

async function withClient<T>(config: pg.ClientConfig, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function postgresRunning(bins: PostgresBinaries, paths: ClusterPaths): Promise<boolean> {
  if (!existsSync(join(paths.postgres, 'PG_VERSION'))) return false;
  try {
    await bins.exec('pg_ctl', ['status', '-D', paths.postgres], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** The port a running PostgreSQL of ours listens on (postmaster.pid, line 4). */
async function runningPostgresPort(paths: ClusterPaths): Promise<number | null> {
  try {
    const port = Number((await readFile(join(paths.postgres, 'postmaster.pid'), 'utf8')).split('\n')[3]);
    return Number.isInteger(port) && port > 0 ? port : null;
  } catch {
    return null;
  }
}

async function initPostgres(bins: PostgresBinaries, paths: ClusterPaths, secrets: Secrets, log: (l: string) => void): Promise<void> {
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

async function startPostgres(bins: PostgresBinaries, paths: ClusterPaths, port: number, log: (l: string) => void): Promise<void> {
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

async function stopPostgres(bins: PostgresBinaries, paths: ClusterPaths, log: (l: string) => void): Promise<void> {
  if (!(await postgresRunning(bins, paths))) return;
  log('stopping PostgreSQL');
  try {
    await bins.exec('pg_ctl', ['stop', '-D', paths.postgres, '-m', 'fast', '-w', '-t', '60'], { timeoutMs: 90_000 });
  } catch (err) {
    throw new Error(`PostgreSQL did not stop (pg_ctl: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}); see ${join(paths.logs, 'postgres.log')}`);
  }
}

/** The temporal role, its two databases and their schemas, created or brought up to the server's version. */
async function ensureSchemas(bins: Binaries, paths: ClusterPaths, port: number, secrets: Secrets, log: (l: string) => void): Promise<void> {
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

// ---------------------------------------------------------------------------------------------- Temporal

/** The server's config, in the shape of the module's config/development-postgres12.yaml. */
export function serverConfig(o: { ports: ClusterPorts; password: string; dynamicConfigFile: string }): Record<string, unknown> {
  const { ports } = o;
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${HOST}:${ports.postgres}`,
      connectProtocol: 'tcp',
      user: PG_ROLE,
      password: o.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (service: ServiceName) => ({
    rpc: { grpcPort: ports[service], membershipPort: ports[`${service}Membership`], bindOnLocalHost: true },
  });
  return {
    log: { stdout: true, level: 'info' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: NUM_HISTORY_SHARDS,
      datastores: { 'postgres-default': store('temporal', 20), 'postgres-visibility': store('temporal_visibility', 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: HOST } },
    services: {
      frontend: { rpc: { ...rpc('frontend').rpc, httpPort: ports.frontendHttp } },
      history: rpc('history'),
      matching: rpc('matching'),
      worker: rpc('worker'),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${HOST}:${ports.frontend}`, httpAddress: `${HOST}:${ports.frontendHttp}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Dynamic config: the server's defaults, except what SQL visibility needs. */
export function dynamicConfig(): Record<string, unknown> {
  return {
    // SQL visibility keeps workflow IDs in VARCHAR(255) columns: longer IDs are refused when a workflow starts,
    // not when visibility fails to record it (Temporal's own SQL development configs say the same).
    'limit.maxIDLength': [{ value: 255, constraints: {} }],
  };
}

async function writeServerConfig(paths: ClusterPaths, ports: ClusterPorts, secrets: Secrets): Promise<void> {
  await mkdir(paths.config, { recursive: true, mode: 0o700 });
  const header = `# Written by npm run cluster (workers/cluster.ts) at each start: edits are overwritten.\n`;
  await writeFile(paths.configFile, header + stringify(serverConfig({ ports, password: secrets.temporal, dynamicConfigFile: paths.dynamicConfigFile })), { mode: 0o600 });
  await writeFile(paths.dynamicConfigFile, header + stringify(dynamicConfig()), { mode: 0o600 });
}

function spawnService(bins: Binaries, paths: ClusterPaths, service: ServiceName): number {
  const logFile = join(paths.logs, `${service}.log`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(bins.server, ['--root', paths.root, '--config', 'config', '--env', 'fraisier', '--allow-no-auth', 'start', '--service', service], {
      cwd: paths.root,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`${bins.server} could not be started for ${service}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const server = createServer();
    // Bound by someone: in use. (Connecting would leave half-open sessions in the services' logs.)
    server.once('error', () => resolveOpen(true));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolveOpen(false)));
  });
}

async function frontendAnswers(address: string): Promise<string | null> {
  let connection: Connection | undefined;
  try {
    const c = (connection = await Connection.connect({ address, connectTimeout: 2_000 }));
    const deadline = () => new Date(Date.now() + 3_000);
    await c.withDeadline(deadline(), () => c.healthService.check({}));
    await c.withDeadline(deadline(), () => c.workflowService.describeNamespace({ namespace: 'temporal-system' }));
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function startServices(bins: Binaries, paths: ClusterPaths, ports: ClusterPorts, timeoutMs: number, log: (l: string) => void): Promise<void> {
  await mkdir(paths.run, { recursive: true });
  const running = servicePids(paths);
  const toStart = SERVICES.filter((s) => running[s] === null);
  if (toStart.length === 0) return;
  for (const s of toStart) {
    for (const p of Object.values(servicePorts(ports, s))) {
      if (await tcpOpen(p)) {
        throw new Error(`port ${HOST}:${p} for the ${s} service is in use: set FRAISIER_CLUSTER_PORT to another frontend port (the cluster also uses ports ${ports.frontend - 300} to ${ports.frontend + 10})`);
      }
    }
  }
  if (toStart.includes('frontend') && (await tcpOpen(ports.frontendHttp))) {
    throw new Error(`port ${HOST}:${ports.frontendHttp} (frontend HTTP API) is in use: set FRAISIER_CLUSTER_PORT to another frontend port`);
  }
  const started = Date.now();
  const deadline = started + timeoutMs;
  const address = `${HOST}:${ports.frontend}`;
  const spawnOne = async (s: ServiceName): Promise<void> => {
    await appendFile(join(paths.logs, `${s}.log`), `\n==== ${new Date().toISOString()} npm run cluster: starting ${s}\n`);
    const pid = spawnService(bins, paths, s);
    await writeFile(join(paths.run, `${s}.pid`), `${pid}\n`);
    log(`started ${s} (pid ${pid}, log ${join(paths.logs, `${s}.log`)})`);
  };
  // Each service writes the cluster's metadata row at its first start (and updates it when the address
  // changes): all at once, they race and the losers exit. The frontend goes first, the others once it listens.
  if (toStart.includes('frontend')) {
    await spawnOne('frontend');
    await waitForServices(paths, ports, ['frontend'], null, deadline, timeoutMs);
  }
  for (const s of toStart) if (s !== 'frontend') await spawnOne(s);
  await waitForServices(paths, ports, SERVICES, address, deadline, timeoutMs);
  log(`Temporal answers on ${address} (${((Date.now() - started) / 1000).toFixed(1)} s after the first service started)`);
}

/** Until `services` run and listen (and the frontend at `address` answers, when given); stops them all on failure. */
async function waitForServices(
  paths: ClusterPaths,
  ports: ClusterPorts,
  services: readonly ServiceName[],
  address: string | null,
  deadline: number,
  timeoutMs: number,
): Promise<void> {
  for (;;) {
    const pids = servicePids(paths);
    const dead = services.filter((s) => pids[s] === null);
    if (dead.length > 0) {
      await stopServiceProcesses(paths, () => undefined);
      throw new Error(`the Temporal ${dead.join(', ')} service exited while starting:\n${await serviceLogTails(paths, dead)}`);
    }
    const closed: string[] = [];
    for (const s of services) {
      // The worker service serves no gRPC of its own: it only joins the membership ring.
      const listening = s === 'worker' ? { membership: ports.workerMembership } : servicePorts(ports, s);
      for (const [kind, p] of Object.entries(listening)) if (!(await tcpOpen(p))) closed.push(`${s} ${kind} port ${p}`);
    }
    const waitingFor = closed.length > 0 ? `not listening yet: ${closed.join(', ')}` : address ? ((await frontendAnswers(address)) ?? '') : '';
    if (waitingFor === '') return;
    if (Date.now() > deadline) {
      await stopServiceProcesses(paths, () => undefined);
      throw new Error(
        `the Temporal services did not start within ${Math.round(timeoutMs / 1000)} s (${waitingFor}); they were stopped. Logs:\n${await serviceLogTails(paths, services)}`,
      );
    }
    await sleep(250);
  }
}

/** SIGTERM to the four services, SIGKILL to those still there after `graceMs`. */
async function stopServiceProcesses(paths: ClusterPaths, log: (l: string) => void, graceMs = 30_000, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  const pids = servicePids(paths);
  const live = SERVICES.filter((s) => pids[s] !== null);
  for (const s of live) {
    log(`stopping ${s} (pid ${pids[s]}${signal === 'SIGKILL' ? ', SIGKILL' : ''})`);
    try {
      process.kill(pids[s] as number, signal);
    } catch {
      // gone meanwhile
    }
  }
  const left = await waitUntilGone(live.map((s) => pids[s] as number), graceMs);
  for (const pid of left) {
    log(`pid ${pid} did not stop within ${graceMs / 1000} s: SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  if (left.length > 0) await waitUntilGone(left, 5_000);
  for (const s of SERVICES) await rm(join(paths.run, `${s}.pid`), { force: true });
}

/** Waits until the frontend knows the namespace and our search attributes (each service refreshes its namespace cache every 2 s). */
async function prepareClusterNamespace(address: string, namespace: string, retention: string, log: (l: string) => void): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5_000 });
  try {
    const registered = await ensureNamespace(connection, namespace, retention);
    if (registered) log(`registered namespace ${namespace} (retention ${retention})`);
    const deadline = Date.now() + 60_000;
    let added: string[] | undefined;
    for (;;) {
      try {
        added ??= await ensureSearchAttributes(connection, namespace);
        // A visibility query naming one of them: answers once the frontend's namespace cache has them.
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1, query: "FraiseOperation = 'cluster-probe'" });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`namespace ${namespace} is not usable on ${address} after 60 s: ${(err as Error).message}`);
        await sleep(500);
      }
    }
    if (added.length > 0) log(`registered search attributes: ${added.join(', ')}`);
    // The history and matching services refresh their own namespace caches on the same 2 s period.
    if (registered || added.length > 0) await sleep(2_500);
  } finally {
    await connection.close();
  }
}

async function readState(paths: ClusterPaths): Promise<State | null> {
  try {
    const parsed = JSON.parse(await readFile(paths.stateFile, 'utf8')) as Partial<State>;
    if (typeof parsed.frontendPort === 'number' && typeof parsed.pgPort === 'number') {
      return { version: parsed.version ?? '?', frontendPort: parsed.frontendPort, pgPort: parsed.pgPort, namespace: parsed.namespace ?? 'default' };
    }
  } catch {
    // none yet
  }
  return null;
}

async function ensureDirs(paths: ClusterPaths, asPostgresUser: boolean): Promise<void> {
  await mkdir(paths.root, { recursive: true });
  // The postgres OS user must pass through it to its own directory below.
  if (asPostgresUser) {
    const s = await stat(paths.root);
    if ((s.mode & 0o001) === 0) await chmod(paths.root, s.mode | 0o001);
  }
  await mkdir(paths.logs, { recursive: true });
  await mkdir(paths.run, { recursive: true });
}

function resolveOptions(opts: ClusterOptions): { paths: ClusterPaths; frontendPort: number; pgPort: number; namespace: string; log: (l: string) => void; env: NodeJS.ProcessEnv } {
  const env = opts.env ?? process.env;
  return {
    env,
    paths: clusterPaths(opts.dataDir ?? defaultDataDir(env)),
    frontendPort: opts.frontendPort ?? portFromEnv(env, 'FRAISIER_CLUSTER_PORT', DEFAULT_FRONTEND_PORT),
    pgPort: opts.pgPort ?? portFromEnv(env, 'FRAISIER_CLUSTER_PG_PORT', DEFAULT_PG_PORT),
    namespace: opts.namespace ?? (env.TEMPORAL_NAMESPACE || 'default'),
    log: opts.log ?? (() => undefined),
  };
}

/**
 * Starts what is not running of the cluster (PostgreSQL, schemas, the four services), registers the namespace
 * and fraisier's search attributes, and resolves once a client can use it. Idempotent: on a running cluster
 * it only checks, and keeps the ports it runs on.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<RunningCluster> {
  const t0 = Date.now();
  const o = resolveOptions(opts);
  const { paths, log } = o;
  const bins = findClusterBinaries(o.env);
  const pgBins = await postgresBinaries();
  await ensureDirs(paths, pgBins.asPostgresUser);
  const secrets = await loadSecrets(paths);

  // A running cluster keeps its ports.
  const state = await readState(paths);
  const pgUp = await postgresRunning(pgBins, paths);
  const anyService = Object.values(servicePids(paths)).some((p) => p !== null);
  let pgPort = o.pgPort;
  let frontendPort = o.frontendPort;
  if (pgUp) pgPort = (await runningPostgresPort(paths)) ?? state?.pgPort ?? pgPort;
  if (anyService && state) frontendPort = state.frontendPort;
  if (pgPort !== o.pgPort || frontendPort !== o.frontendPort) {
    log(`already running on frontend port ${frontendPort}, PostgreSQL port ${pgPort}: kept (npm run cluster -- stop, to change them)`);
  }
  const ports = clusterPorts(frontendPort, pgPort);
  const address = `${HOST}:${ports.frontend}`;

  if (!existsSync(join(paths.postgres, 'PG_VERSION'))) await initPostgres(pgBins, paths, secrets, log);
  if (!pgUp) await startPostgres(pgBins, paths, pgPort, log);
  else log(`PostgreSQL already running on ${HOST}:${pgPort}`);
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  try {
    await waitForPostgres(superuser(pgPort, secrets), 60_000);
    await ensureSchemas(bins, paths, pgPort, secrets, log);
    if (!anyService) await writeServerConfig(paths, ports, secrets);
    await writeFile(paths.stateFile, JSON.stringify({ version: TEMPORAL_SERVER_VERSION, frontendPort, pgPort, namespace: o.namespace } satisfies State, null, 2) + '\n');
    const before = servicePids(paths);
    if (SERVICES.every((s) => before[s] !== null)) log(`Temporal services already running on ${address}`);
    await startServices(bins, paths, ports, timeoutMs, log);
    await prepareClusterNamespace(address, o.namespace, opts.retention ?? '3 days', log);
  } catch (err) {
    // Leave things as they were: what this call started is stopped (startServices stops its services itself).
    if (!anyService) await stopServiceProcesses(paths, () => undefined).catch(() => undefined);
    if (!pgUp) await stopPostgres(pgBins, paths, () => undefined).catch(() => undefined);
    throw err;
  }
  const startedInMs = Date.now() - t0;

  return {
    address,
    namespace: o.namespace,
    ports,
    paths,
    startedInMs,
    pids: () => servicePids(paths),
    stopServices: (so) => stopServiceProcesses(paths, log, 30_000, so?.signal),
    startServices: async () => {
      await startServices(bins, paths, ports, timeoutMs, log);
      await prepareClusterNamespace(address, o.namespace, opts.retention ?? '3 days', log);
    },
    stop: async () => {
      await stopServiceProcesses(paths, log);
      await stopPostgres(pgBins, paths, log);
    },
  };
}

/** Stops the four services, then PostgreSQL; nothing running is fine. */
export async function stopCluster(opts: ClusterOptions = {}): Promise<void> {
  const { paths, log } = resolveOptions(opts);
  await stopServiceProcesses(paths, log);
  if (existsSync(join(paths.postgres, 'PG_VERSION'))) await stopPostgres(await postgresBinaries(), paths, log);
}

export async function clusterStatus(opts: ClusterOptions = {}): Promise<ClusterStatus> {
  const { paths } = resolveOptions(opts);
  const state = await readState(paths);
  const ports = state ? clusterPorts(state.frontendPort, state.pgPort) : null;
  const postgres = existsSync(join(paths.postgres, 'PG_VERSION')) && (await postgresRunning(await postgresBinaries(), paths));
  return { address: ports ? `${HOST}:${ports.frontend}` : null, ports, postgres, services: servicePids(paths), paths };
}

// ---------------------------------------------------------------------------------------------- CLI

const USAGE = `Usage: npm run cluster -- [start|stop|status] [--help]

A production-shaped Temporal server on this machine: PostgreSQL and the four Temporal services (frontend,
history, matching, worker) as separate processes, ${NUM_HISTORY_SHARDS} history shards, SQL visibility, the namespace and
fraisier's search attributes registered. It keeps running after this command exits.

  start    start what is not running (the default); prints the address for TEMPORAL_ADDRESS
  stop     stop the four services, then PostgreSQL
  status   what runs, and where (exit 0: all running, 3: not all)

Environment:
  FRAISIER_DATA_DIR         fraisier's data dir (default .data/); the cluster lives in its cluster/ folder
  FRAISIER_CLUSTER_PORT     frontend gRPC port (default ${DEFAULT_FRONTEND_PORT}); the cluster also uses the ports from
                            300 below it to 10 above it (history +1, matching +2, worker +6, HTTP +10, membership -300..-294)
  FRAISIER_CLUSTER_PG_PORT  PostgreSQL port (default ${DEFAULT_PG_PORT})
  TEMPORAL_NAMESPACE        namespace to register (default "default")
  TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_SCHEMA_DIR
                            the binaries and schemas (default: what npm run setup put in .tools/)

Then: TEMPORAL_ADDRESS=127.0.0.1:<port> npm run worker (or npm start)`;

function say(line: string): void {
  process.stdout.write(`[cluster] ${line}\n`);
}

async function cli(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command = 'start', ...rest] = parsed.positionals;
  if (rest.length > 0 || !['start', 'stop', 'status'].includes(command)) {
    process.stderr.write(`unknown arguments: ${parsed.positionals.join(' ')}\n\n${USAGE}\n`);
    return 2;
  }
  if (command === 'start') {
    const cluster = await startCluster({ log: say });
    say(`ready in ${(cluster.startedInMs / 1000).toFixed(1)} s: Temporal at ${cluster.address}, namespace ${cluster.namespace}, PostgreSQL at ${HOST}:${cluster.ports.postgres}`);
    say(`logs in ${cluster.paths.logs}; npm run cluster -- stop stops it`);
    say(`point fraisier at it: TEMPORAL_ADDRESS=${cluster.address} npm run worker`);
    return 0;
  }
  if (command === 'stop') {
    await stopCluster({ log: say });
    say('stopped');
    return 0;
  }
  const s = await clusterStatus();
  say(`cluster dir ${s.paths.root}`);
  say(`PostgreSQL: ${s.postgres ? `running${s.ports ? ` on ${HOST}:${s.ports.postgres}` : ''}` : 'stopped'}`);
  for (const svc of SERVICES) say(`${svc}: ${s.services[svc] !== null ? `running (pid ${s.services[svc]})` : 'stopped'}`);
  const all = s.postgres && SERVICES.every((svc) => s.services[svc] !== null);
  say(all ? `Temporal at ${s.address} (TEMPORAL_ADDRESS=${s.address})` : 'not all running: npm run cluster -- start');
  return all ? 0 : 3;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`[cluster] failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
