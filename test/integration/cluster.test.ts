/**
 * `npm run cluster` for real: PostgreSQL and the four Temporal services as separate processes, in a temp data
 * dir on free ports; a fraisier worker runs a workflow on it, across a restart of the services.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS: its namespaces come through the default export under ESM.
import proto from '@temporalio/proto';
import { Runtime, type Worker } from '@temporalio/worker';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCommandRunner } from '../../activities/runner';
import { temporalSettings } from '../../config/temporal';
import { openRecords } from '../../db/connect';
import type { Records } from '../../db/types';
import { cleanup } from '../../workflows/cleanup';
import { ALL_SEARCH_ATTRIBUTE_KEYS, FRAISE_OPERATION } from '../../workflows/searchAttributes';
import { clusterStatus, freeClusterPorts, stopCluster, portIsFree, SERVICES, startCluster, type RunningCluster } from '../../workers/cluster';
import { fraisierLogger } from '../../workers/logger';
import { createFraisierWorker } from '../../workers/worker';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres';

Runtime.install({ logger: fraisierLogger('ERROR') });

const taskQueue = `cluster-${process.pid}`;
let dataDir: string;
let cluster: RunningCluster;
let client: Client;
let recordsDb: PostgresCluster;
let records: Records;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
let http: Agent;
const lines: string[] = [];

const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

function report(line: string): void {
  process.stdout.write(`[cluster.test] ${line}\n`);
}

async function runCleanup(tag: string): Promise<void> {
  const workflowId = `cluster-cleanup-${tag}-${randomUUID()}`;
  const summary = await client.workflow.execute(cleanup, {
    workflowId,
    taskQueue,
    args: [{ dryRun: true }],
    typedSearchAttributes: [{ key: FRAISE_OPERATION, value: 'cleanup' }],
    workflowExecutionTimeout: '1 minute',
  });
  expect(summary.wouldClean).toEqual([]);
  // Our search attribute reaches SQL visibility (a little behind the close).
  const deadline = Date.now() + 15_000;
  let found = 0;
  while (found === 0 && Date.now() < deadline) {
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}' AND FraiseOperation = 'cleanup'` })) if (wf.workflowId === workflowId) found++;
    if (found === 0) await new Promise((r) => setTimeout(r, 250));
  }
  expect(found).toBe(1);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fraisier-cluster-'));
  // As root, PostgreSQL runs as the postgres user, who must pass through the data dir.
  await chmod(dataDir, 0o755);
  const { frontendPort, pgPort } = await freeClusterPorts();
  const t0 = Date.now();
  cluster = await startCluster({ dataDir, frontendPort, pgPort, log: (l) => lines.push(l) });
  report(`cold start (initdb, schemas, 4 services, namespace, search attributes): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  client = new Client({ connection: await Connection.connect({ address: cluster.address }), namespace: cluster.namespace });
  recordsDb = await startPostgresCluster();
  records = await openRecords(recordsDb.url);
  http = new Agent();
}, 240_000);

afterAll(async () => {
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await client?.connection.close();
  await records?.close();
  await recordsDb?.stop();
  await http?.close();
  // Also when startCluster failed half-way: whatever runs in the data dir.
  if (dataDir) await stopCluster({ dataDir });
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm run cluster', () => {
  it('runs the four services as separate live processes, on PostgreSQL with 4 shards and SQL visibility', async () => {
    const pids = cluster.pids();
    const live = SERVICES.map((s) => pids[s]);
    expect(live.every((p) => typeof p === 'number')).toBe(true);
    expect(new Set(live).size).toBe(4);
    for (const s of SERVICES) {
      const argv = (await readFile(`/proc/${pids[s]}/cmdline`, 'utf8')).split('\0');
      expect(argv).toEqual(expect.arrayContaining(['start', '--service', s]));
    }
    const info = await client.workflowService.getClusterInfo({});
    expect(info.historyShardCount).toBe(4);
    expect(info.persistenceStore).toBe('postgres12');
    expect(info.visibilityStore).toBe('postgres12');
    expect(info.serverVersion).toBe('1.29.1');
    const status = await clusterStatus({ dataDir });
    expect(status.postgres).toBe(true);
    expect(status.address).toBe(cluster.address);
    expect(status.services).toEqual(pids);
  });

  it("has fraisier's search attributes", async () => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: cluster.namespace });
    for (const key of ALL_SEARCH_ATTRIBUTE_KEYS) expect(customAttributes?.[key.name]).toBe(KEYWORD);
  });

  it('runs a fraisier workflow to completion', async () => {
    const created = await createFraisierWorker({
      settings: temporalSettings({ TEMPORAL_ADDRESS: cluster.address, FRAISIER_TASK_QUEUE: taskQueue }),
      records,
      workflowBundle: { code: inject('workflowBundleCode') },
      providerDeps: { run: createCommandRunner(), http, env: {} },
    });
    worker = created.worker;
    workerRun = worker.run();
    await runCleanup('first');
  });

  it('works again after its services restart (PostgreSQL kept running); the worker reconnects by itself', async () => {
    const ports = cluster.ports;
    const t0 = Date.now();
    await cluster.stopServices();
    const stoppedIn = Date.now() - t0;
    expect(Object.values(cluster.pids())).toEqual([null, null, null, null]);
    expect(await portIsFree(ports.frontend)).toBe(true);
    expect((await clusterStatus({ dataDir })).postgres).toBe(true);
    const t1 = Date.now();
    await cluster.startServices();
    const startedIn = Date.now() - t1;
    report(`restart: services stopped in ${(stoppedIn / 1000).toFixed(1)} s, started and answering in ${(startedIn / 1000).toFixed(1)} s`);
    const t2 = Date.now();
    await runCleanup('after-restart');
    report(`first workflow after the restart done in ${((Date.now() - t2) / 1000).toFixed(1)} s`);
  });

  it('works again after its services are killed (SIGKILL, as in a crash)', async () => {
    await cluster.stopServices({ signal: 'SIGKILL' });
    expect(Object.values(cluster.pids())).toEqual([null, null, null, null]);
    const t0 = Date.now();
    await cluster.startServices();
    await runCleanup('after-kill');
    report(`after SIGKILL: services started and a workflow done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('start on a running cluster only checks it', async () => {
    const pids = cluster.pids();
    const again = await startCluster({ dataDir, frontendPort: cluster.ports.frontend, pgPort: cluster.ports.postgres });
    expect(again.address).toBe(cluster.address);
    expect(again.pids()).toEqual(pids);
  });

  it('stop closes every port', async () => {
    worker?.shutdown();
    await workerRun;
    worker = undefined;
    await cluster.stop();
    const status = await clusterStatus({ dataDir });
    expect(status.postgres).toBe(false);
    expect(Object.values(status.services)).toEqual([null, null, null, null]);
    for (const [name, port] of Object.entries(cluster.ports)) expect(`${name} ${port} ${(await portIsFree(port)) ? 'free' : 'in use'}`).toBe(`${name} ${port} free`);
    expect(lines.join('\n')).toMatch(/registered search attributes: FraiseName/);
  });
});
