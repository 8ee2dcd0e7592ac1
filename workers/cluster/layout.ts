/**
 * What a local Temporal cluster is made of (workers/cluster.ts runs it): its ports, its files, the binaries
 * setup builds, and the server's config. Pure, except for finding the binaries.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../../config/paths';

/** The server version setup builds (scripts/setup.sh, TEMPORAL_SERVER_VERSION): its schemas are the ones applied. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const NUM_HISTORY_SHARDS = 4;
export const DEFAULT_FRONTEND_PORT = 7233;
export const DEFAULT_PG_PORT = 55432;
export const HOST = '127.0.0.1';
export const DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;
export const PG_ROLE = 'temporal';

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

export function servicePorts(ports: ClusterPorts, service: ServiceName): { grpc: number; membership: number } {
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

export interface Binaries {
  server: string;
  sqlTool: string;
  schemaDir: string;
}

export interface Secrets {
  postgres: string;
  temporal: string;
}

export interface State {
  version: string;
  frontendPort: number;
  pgPort: number;
  namespace: string;
}

export const SETUP_HINT = 'run "npm run setup" (it builds them into .tools/bin; needs Go)';

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

export function versionedSchemaDir(schemaDir: string, schema: string): string {
  return join(schemaDir, 'postgresql', 'v12', schema, 'versioned');
}

export function portFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
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

/** The last lines of a log file, for error messages. */
export async function tail(file: string, lines = 6): Promise<string> {
  try {
    const all = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const last = all.slice(-lines);
    const errors = all.slice(0, -lines).filter((l) => /"level":"(error|dpanic|panic|fatal)"|^Unable|ERROR|FATAL/.test(l)).slice(-3);
    return [...errors, ...(errors.length > 0 ? ['…'] : []), ...last].map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l)).join('\n');
  } catch {
    return '(no log)';
  }
}
