/**
 * `npm run cluster [start|stop|status]`: a production-shaped Temporal on this machine. PostgreSQL (its own
 * cluster under <data dir>/cluster/postgres, loopback, password auth) holds both the default and the SQL
 * visibility store; the server's four services (frontend, history, matching, worker) run as separate
 * `temporal-server` processes with 4 history shards, as they would on separate machines. The namespace and
 * fraisier's search attributes are registered. Everything it starts keeps running after the command exits;
 * `stop` stops it. The same functions serve the tests (startCluster).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { dataDir as defaultDataDir } from '../config/paths';
import { postgresBinaries, waitForPostgres } from '../db/postgresServer';
import { ensureNamespace } from './prepareNamespace';
import { ensureSearchAttributes } from './searchAttributes';
import { ensureSchemas, initPostgres, loadSecrets, postgresRunning, runningPostgresPort, startPostgres, stopPostgres, superuser } from './cluster/postgres';
import { type Binaries, type ClusterOptions, type ClusterPaths, type ClusterPorts, type ClusterStatus, DEFAULT_FRONTEND_PORT, DEFAULT_PG_PORT, HOST, type RunningCluster, SERVICES, type Secrets, type ServiceName, type State, TEMPORAL_SERVER_VERSION, clusterPaths, clusterPorts, dynamicConfig, findClusterBinaries, portFromEnv, serverConfig, servicePorts, tail } from './cluster/layout';
export * from './cluster/layout';

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

