/**
 * fraisier benchmark: prints figures, asserts nothing. `npm run bench [-- --deploys 10 --records 2000 --db both]`.
 * Starts what it needs (Temporal dev server, dockerd, test images, PGlite / PostgreSQL, an in-process worker)
 * and stops and removes all of it at the end, even after an error. The phases are in ./phases/; see README.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, Runtime, type Worker } from '@temporalio/worker';
import { fraisierLogger } from '../../workers/logger';
import { temporalSettings } from '../../config/temporal';
import { openRecords } from '../../db/connect';
import { startEmbeddedDatabase } from '../../db/embedded';
import { freePort, startDevServer, type DevServer } from '../../workers/devServer';
import { createFraisierWorker, WORKFLOWS_PATH } from '../../workers/worker';
import { buildAppImage, removeImages } from '../support/appImage';
import { ensureDockerd } from '../support/dockerd';
import { startPostgresCluster } from '../support/postgres';
import type { Env } from './env';
import { parseOptions, PHASES, USAGE, type DbKind, type Options, type Phase } from './options';
import { benchBareMetal } from './phases/bareMetal';
import { benchCleanup } from './phases/cleanup';
import { benchCoolify } from './phases/coolify';
import { benchDeploys } from './phases/deploy';
import { benchLock } from './phases/lock';
import { benchRecords } from './phases/records';
import { benchScale, scalePhaseBoundMs } from './phases/scale';
import { commandOutput, ms, now, printTable, run, within } from './report';

async function main(opts: Options): Promise<number> {
  Runtime.install({ logger: fraisierLogger('WARN') });
  const needsWorker = opts.phases.includes('deploy') || opts.phases.includes('cleanup');
  const needsDocker = needsWorker;
  // Only the scale phase may run on a server of its own (--temporal-address); the others need the dev server.
  const needsDevServer = !(opts.temporalAddress !== null && opts.phases.every((p) => p === 'scale' || p === 'records'));
  const workerDb: DbKind = opts.db.includes('pglite') ? 'pglite' : 'postgres';

  const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
  const setupTimes: string[][] = [];
  const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const t0 = now();
    const result = await within(opts.phaseTimeoutMs, what, work());
    setupTimes.push([what, ms(now() - t0)]);
    return result;
  };
  let failures = 0;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'fraisier-bench-'));
  cleanups.push({ what: 'temp dir', run: () => rm(dir, { recursive: true, force: true }) });
  try {
    const [dockerVersion, composeVersion] = await Promise.all([
      needsDocker ? ensureDockerd().then(() => commandOutput('docker', ['info', '--format', '{{.ServerVersion}} ({{.Driver}})'])) : Promise.resolve('(not used)'),
      commandOutput('docker-compose', ['version', '--short']),
    ]);
    const cpus = os.cpus();
    console.log('fraisier bench');
    printTable(
      ['machine', ''],
      [
        ['nproc', String(os.availableParallelism())],
        ['cpu', cpus[0]?.model.trim() ?? '?'],
        ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
        ['load average (1/5/15 min)', os.loadavg().map((l) => l.toFixed(2)).join(' / ')],
        ['node', process.version],
        ['platform', `${os.platform()} ${os.release()}`],
        ['docker engine', dockerVersion],
        ['docker-compose', composeVersion],
      ],
    );
    console.log();
    printTable(
      ['parameter', 'value'],
      [
        ['phases', opts.phases.join(',')],
        ['deploys', String(opts.deploys)],
        ['racers x rounds', `${opts.racers} x ${opts.lockRounds}`],
        ['records pairs / writers', `${opts.records} / ${opts.writers}`],
        ['databases (records figures)', opts.db.join(', ')],
        ['worker records database', needsWorker ? workerDb : '(no worker)'],
        ['cleanup targets', String(opts.cleanupTargets)],
        ['bare_metal deploys per mode', String(opts.bareMetalDeploys)],
        ['scale deploys / cleanup records', `${opts.scaleDeploys} / ${opts.scaleCleanupRecords}`],
        ['scale cleanup concurrency / itemsPerRun', `${opts.scaleCleanupConcurrency} / ${opts.scaleCleanupItemsPerRun}`],
        ['Temporal (scale)', opts.temporalAddress === null ? 'dev server started by the bench' : `${opts.temporalAddress} (namespace ${opts.temporalNamespace})`],
        ['phase timeout', `${opts.phaseTimeoutMs / 1000}s`],
      ],
    );

    // Databases.
    const dbUrls = new Map<DbKind, string>();
    if (opts.db.includes('pglite')) {
      const embedded = await timed('start PGlite (socket server)', () => startEmbeddedDatabase({ dataDir: path.join(dir, 'pglite') }));
      cleanups.push({ what: 'PGlite', run: () => embedded.stop() });
      dbUrls.set('pglite', embedded.url);
    }
    if (opts.db.includes('postgres')) {
      const cluster = await timed('start PostgreSQL cluster', () => startPostgresCluster());
      cleanups.push({ what: 'PostgreSQL', run: () => cluster.stop() });
      dbUrls.set('postgres', cluster.url);
    }
    const workerUrl = dbUrls.get(workerDb);
    if (!workerUrl) throw new Error(`no ${workerDb} database started`);
    const workerRecords = await timed(`open worker records (${workerDb}, migrations)`, () => openRecords(workerUrl));
    cleanups.push({ what: 'worker records pool', run: () => workerRecords.close() });

    // Temporal, images, compose files, worker.
    const suffix = `${process.pid}`;
    const image = `fraisier-bench-${suffix}`;
    const project = `fraisier-bench-${suffix}`;
    const taskQueue = `bench-${suffix}`;
    let temporal: { address: string; namespace: string; pid: number | undefined };
    if (needsDevServer) {
      const server: DevServer = await timed('start Temporal dev server (headless)', () =>
        startDevServer({ uiPort: null, logFile: path.join(dir, 'temporal.log'), startTimeoutMs: 90_000 }),
      );
      cleanups.push({ what: 'Temporal dev server', run: () => server.stop() });
      temporal = { address: server.address, namespace: server.namespace, pid: server.pid };
    } else {
      temporal = { address: opts.temporalAddress ?? '', namespace: opts.temporalNamespace, pid: undefined };
    }
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push({ what: 'Temporal client', run: () => connection.close() });
    const client = new Client({ connection, namespace: temporal.namespace });

    const appPort = await freePort();
    if (needsWorker) {
      cleanups.push({ what: 'images', run: () => removeImages([`${image}:v1`, `${image}:v2`]) });
      await timed('build 2 app images (FROM scratch + busybox)', () =>
        Promise.all([buildAppImage(`${image}:v1`, { body: 'v1', port: appPort }), buildAppImage(`${image}:v2`, { body: 'v2', port: appPort })]),
      );
    }
    const composeFile = path.join(dir, 'docker-compose.yml');
    await writeFile(
      composeFile,
      [
        'services:',
        '  web:',
        `    image: "${image}:\${VERSION:-v1}"`,
        '    network_mode: host',
        '  preview:',
        `    image: "${image}:\${PREVIEW_VERSION:-v1}"`,
        '    network_mode: host',
        '',
      ].join('\n'),
    );
    const configFile = path.join(dir, 'fraises.yaml');
    await writeFile(
      configFile,
      [
        'fraises:',
        '  shop:',
        `    health_check: { type: http, port: ${appPort}, path: /, timeout: 10s, interval: 1s }`,
        '    providers:',
        '      staging:',
        '        provider: docker_compose',
        `        config: { compose_file: docker-compose.yml, service_name: web, project_name: ${project}, pull: never }`,
        '',
      ].join('\n'),
    );
    cleanups.push({
      what: 'compose project',
      run: () => run('docker-compose', ['-f', composeFile, '-p', project, 'down', '--remove-orphans'], { timeout: 120_000 }).catch(() => undefined),
    });

    let worker: Worker | undefined;
    if (needsWorker) {
      const bundle = await timed('bundle workflow code', () => bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }));
      const settings = temporalSettings({ TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace, FRAISIER_TASK_QUEUE: taskQueue });
      const created = await timed('create worker', () => createFraisierWorker({ settings, records: workerRecords, workflowBundle: { code: bundle.code } }));
      worker = created.worker;
      const running = worker.run();
      cleanups.push({
        what: 'worker',
        run: async () => {
          created.worker.shutdown();
          await within(60_000, 'worker shutdown', running).catch(() => undefined);
          await created.connection.close();
        },
      });
    }
    console.log();
    printTable(['setup step', 'ms'], setupTimes);

    const env: Env = {
      opts,
      dir,
      image,
      project,
      taskQueue,
      configFile,
      client,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      temporalServerPid: temporal.pid,
      workerRecords,
      dbUrls,
    };
    const phases: Record<Phase, () => Promise<void>> = {
      deploy: () => benchDeploys(env),
      lock: () => benchLock(env),
      records: () => benchRecords(env),
      cleanup: () => (opts.cleanupTargets > 0 ? benchCleanup(env) : Promise.resolve()),
      coolify: () => benchCoolify(env),
      bare_metal: () => benchBareMetal(env),
      scale: () => benchScale(env),
    };
    for (const phase of PHASES) {
      if (!opts.phases.includes(phase)) continue;
      const t0 = now();
      try {
        await within(phase === 'scale' ? scalePhaseBoundMs(opts.phaseTimeoutMs) : opts.phaseTimeoutMs, `phase ${phase}`, phases[phase]());
        console.log(`  [phase ${phase}: ${((now() - t0) / 1000).toFixed(1)} s]`);
      } catch (err) {
        failures++;
        console.log(`  [phase ${phase} FAILED after ${((now() - t0) / 1000).toFixed(1)} s: ${(err as Error).message}]`);
      }
    }
  } finally {
    const t0 = now();
    for (const c of cleanups.reverse()) {
      try {
        await within(120_000, `stopping ${c.what}`, c.run());
      } catch (err) {
        console.error(`cleanup of ${c.what} failed: ${(err as Error).message}`);
      }
    }
    console.log(`\n(stopped and removed everything in ${((now() - t0) / 1000).toFixed(1)} s)`);
  }
  return failures === 0 ? 0 : 1;
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

let parsed: Options | 'help';
try {
  parsed = parseOptions(process.argv.slice(2), process.env);
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (parsed === 'help') {
  console.log(USAGE);
  process.exit(0);
}
const options = parsed;
const started = now();
main(options).then(
  (code) => {
    console.log(`total ${((now() - started) / 1000).toFixed(1)} s`);
    process.exit(code);
  },
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
