/**
 * End to end, all real: the temporal dev server, a worker running our workflows, dockerd with Compose,
 * PostgreSQL for the records, and the `fraisier` CLI run as a user runs it.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
// @temporalio/proto is CommonJS: its namespaces come through the default export under ESM.
import proto from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';
import { Runtime, type Worker as WorkerType } from '@temporalio/worker';
import { fraisierLogger } from '../../workers/logger';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Target } from '../../domain/target';
import { loadConfig } from '../../config/load';
import { resolveTarget } from '../../config/resolve';
import { openRecords } from '../../db/connect';
import type { Records } from '../../db/types';
import { CANCELLED_MESSAGE } from '../../workflows/cancellation';
import { cleanup } from '../../workflows/cleanup';
import { lockWorkflowId } from '../../domain/ids';
import { freePort } from '../../workers/devServer';
import { temporalSettings } from '../../config/temporal';
import { createFraisierWorker } from '../../workers/worker';
import { CliError, EXIT } from '../../client/exitCodes';
import { buildAppImage, removeImages } from '../support/appImage';
import { runCli } from '../support/cli';
import { startDeployUnderLock } from '../support/deploys';
import { waitForStep } from '../support/progress';
import { ensureDockerd } from '../support/dockerd';
import { saveHistory } from '../support/histories';
import { startPostgresCluster } from '../support/postgres';
import { spawnWorker } from '../support/workers';

Runtime.install({ logger: fraisierLogger('WARN') });

const suffix = `${process.pid}`;
const image = `fraisier-e2e-${suffix}`;
const project = `fraisier-e2e-${suffix}`;
const taskQueue = `e2e-${suffix}`;
// The preview environment names its own queue in fraises.yaml, as a second Docker host would.
const previewQueue = `e2e-${suffix}-preview`;

let dir: string;
let appPort: number;
let previewPort: number;
let configFile: string;
let env: Record<string, string>;
let records: Records;
let worker: WorkerType;
let workerRun: Promise<void>;
let previewWorker: WorkerType;
let previewWorkerRun: Promise<void>;
let client: Client;
let stopPostgres: () => Promise<void>;

const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** The process group of a process (Linux /proc): the spawned worker's group holds tsx and the node under it. */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // pid (comm) state ppid pgrp …: comm may hold spaces, so count from the closing parenthesis.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** A release that comes up but fails its HEALTHCHECK (a path it does not serve). */
function buildBadImage(): Promise<string> {
  return buildAppImage(`${image}:bad`, { body: 'bad', port: appPort, healthcheck: true, healthPath: '/missing' });
}

async function fetchBody(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return (await res.text()).trim();
}

/** Workflow IDs matching a visibility query; visibility lags a little behind, so it is asked a few times. */
async function listWorkflows(query: string): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    if (ids.length > 0 || attempt >= 20) return ids;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function containerIds(service: string): Promise<string[]> {
  const r = await execa('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`]);
  return r.stdout.split('\n').filter(Boolean);
}

beforeAll(async () => {
  await ensureDockerd();
  appPort = await freePort();
  previewPort = await freePort();
  // Good releases answer the configured HTTP check; "bad" carries a HEALTHCHECK on a path it does not serve.
  await Promise.all([
    buildAppImage(`${image}:v1`, { body: 'v1', port: appPort }),
    buildAppImage(`${image}:v2`, { body: 'v2', port: appPort }),
    buildBadImage(),
    buildAppImage(`${image}:p1`, { body: 'p1', port: previewPort }),
  ]);

  dir = await mkdtemp(join(tmpdir(), 'fraisier-e2e-'));
  await writeFile(
    join(dir, 'docker-compose.yml'),
    [
      'services:',
      '  web:',
      `    image: "${image}:\${VERSION:-v1}"`,
      '    network_mode: host',
      '  preview:',
      `    image: "${image}:\${PREVIEW_VERSION:-p1}"`,
      '    network_mode: host',
      '',
    ].join('\n'),
  );
  configFile = join(dir, 'fraises.yaml');
  await writeFile(
    configFile,
    [
      'fraises:',
      '  shop:',
      '    type: web',
      '    health_check: { type: http, port: ' + appPort + ', path: /, timeout: 10s, interval: 1s }',
      '    providers:',
      '      staging:',
      '        provider: docker_compose',
      `        config: { compose_file: docker-compose.yml, service_name: web, project_name: ${project}, pull: never }`,
      '      preview:',
      '        provider: docker_compose',
      `        task_queue: ${previewQueue}`,
      `        health_check: { type: tcp, port: ${previewPort}, timeout: 10s, interval: 1s }`,
      `        config: { compose_file: docker-compose.yml, service_name: preview, project_name: ${project}, version_variable: PREVIEW_VERSION, pull: never }`,
      '',
    ].join('\n'),
  );

  const pg = await startPostgresCluster();
  stopPostgres = pg.stop;
  records = await openRecords(pg.url);

  const address = inject('temporalAddress');
  env = { ...(process.env as Record<string, string>), TEMPORAL_ADDRESS: address, DATABASE_URL: pg.url, FRAISIER_TASK_QUEUE: taskQueue };
  const settings = temporalSettings({ TEMPORAL_ADDRESS: address, FRAISIER_TASK_QUEUE: taskQueue });
  ({ worker } = await createFraisierWorker({ settings, records, workflowBundle: { code: inject('workflowBundleCode') } }));
  workerRun = worker.run();
  const previewSettings = temporalSettings({ TEMPORAL_ADDRESS: address, FRAISIER_TASK_QUEUE: previewQueue });
  ({ worker: previewWorker } = await createFraisierWorker({ settings: previewSettings, records, workflowBundle: { code: inject('workflowBundleCode') } }));
  previewWorkerRun = previewWorker.run();
  client = new Client({ connection: await Connection.connect({ address }) });
});

afterAll(async () => {
  worker?.shutdown();
  previewWorker?.shutdown();
  await workerRun?.catch(() => undefined);
  await previewWorkerRun?.catch(() => undefined);
  await client?.connection.close();
  await records?.close();
  await stopPostgres?.();
  await execa('docker-compose', ['-f', join(dir, 'docker-compose.yml'), '-p', project, 'down', '--remove-orphans'], { reject: false });
  await removeImages([`${image}:v1`, `${image}:v2`, `${image}:bad`, `${image}:p1`]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('deploy, automatic rollback, manual rollback', () => {
  it('deploys v1, then v2, each live and recorded', async () => {
    const first = await runCli(['deploy', 'shop', 'staging', '--version', 'v1', '--config', configFile, '--json'], env);
    expect(first.code, first.stderr).toBe(EXIT.ok);
    const outcome = first.json<{ workflowId: string; uiUrl: string; outcome: { status: string; version: string } }>();
    expect(outcome.workflowId).toBe(`docker_compose:shop:staging`);
    expect(outcome.uiUrl).toContain('/workflows/docker_compose%3Ashop%3Astaging/');
    expect(outcome.outcome).toMatchObject({ status: 'succeeded', version: 'v1' });
    expect(await fetchBody(appPort)).toBe('v1');
    await saveHistory(client, outcome.workflowId, 'deploy-succeeded');

    const second = await runCli(['deploy', 'shop', 'staging', '--version', 'v2', '--config', configFile], env);
    expect(second.code, second.stderr).toBe(EXIT.ok);
    expect(second.stdout).toContain('v2 is live');
    expect(second.stderr).toContain('health-check');
    expect(await fetchBody(appPort)).toBe('v2');

    const key = { fraise: 'shop', environment: 'staging', provider: 'docker_compose' };
    expect((await records.currentRelease(key))?.version).toBe('v2');
    const history = await records.history(key, 10);
    expect(history.map((h) => [h.version, h.status, h.previousVersion])).toEqual([
      ['v2', 'succeeded', 'v1'],
      ['v1', 'succeeded', null],
    ]);
  });

  it('rolls back by itself when the new release fails its health check, and says so', async () => {
    const r = await runCli(['deploy', 'shop', 'staging', '--version', 'bad', '--config', configFile, '--json'], env);
    expect(r.code).toBe(EXIT.failed);
    const result = r.json<{ workflowId: string; error: string; outcome: { status: string; rolledBackTo: string; logs: string } }>();
    expect(result.outcome.status).toBe('rolled_back');
    expect(result.outcome.rolledBackTo).toBe('v2');
    expect(result.error).toContain('rolled back automatically to v2');
    expect(result.outcome.logs.length).toBeGreaterThan(0);
    expect(await fetchBody(appPort)).toBe('v2');
    const [last] = await records.history({ fraise: 'shop', environment: 'staging' }, 1);
    expect(last).toMatchObject({ version: 'bad', status: 'rolled_back' });
    expect(last?.logs).toBeTruthy();
    await saveHistory(client, result.workflowId, 'deploy-rolled-back');
  });

  it('rolls back by hand to the previous release, and --to a named one, without rebuilding', async () => {
    const back = await runCli(['rollback', 'shop', 'staging', '--config', configFile, '--json'], env);
    expect(back.code, back.stderr).toBe(EXIT.ok);
    expect(back.json<{ outcome: { version: string; previousVersion: string } }>().outcome).toMatchObject({ version: 'v1', previousVersion: 'v2' });
    expect(await fetchBody(appPort)).toBe('v1');
    await saveHistory(client, lockWorkflowId({ provider: 'docker_compose', fraise: 'shop', environment: 'staging' }), 'rollback-succeeded');

    const to = await runCli(['rollback', 'shop', 'staging', '--to', 'v2', '--config', configFile], env);
    expect(to.code, to.stderr).toBe(EXIT.ok);
    expect(await fetchBody(appPort)).toBe('v2');

    const none = await runCli(['rollback', 'shop', 'staging', '--to', 'v9', '--config', configFile], env);
    expect(none.code).toBe(EXIT.failed);
    expect(none.stdout).toMatch(/found no release of v9; recorded versions: .*v1/);
  });

  it('stops the target and starts it again on its recorded release, under the lock, recording no release', async () => {
    const key = { fraise: 'shop', environment: 'staging', provider: 'docker_compose' };
    const before = await records.history(key, 50);
    const stop = await runCli(['stop', 'shop', 'staging', '--config', configFile, '--json'], env);
    expect(stop.code, stop.stderr).toBe(EXIT.ok);
    expect(stop.json<{ outcome: unknown }>().outcome).toMatchObject({ operation: 'stop', status: 'succeeded', version: 'v2' });
    await expect(fetchBody(appPort)).rejects.toThrow();
    const stopped = await runCli(['status', 'shop', 'staging', '--config', configFile, '--json'], env);
    expect(stopped.json<{ live: { state: string } }>().live.state).toBe('stopped');
    await saveHistory(client, stop.json<{ workflowId: string }>().workflowId, 'power-stop');

    const start = await runCli(['start', 'shop', 'staging', '--config', configFile], env);
    expect(start.code, start.stderr).toBe(EXIT.ok);
    expect(start.stdout).toContain('is running again on v2');
    expect(start.stderr).toContain('health-check');
    expect(await fetchBody(appPort)).toBe('v2');
    await saveHistory(client, lockWorkflowId(key), 'power-start');
    expect(await records.history(key, 50)).toEqual(before);
  });

  it('shows status and history, as text and JSON', async () => {
    const status = await runCli(['status', 'shop', 'staging', '--config', configFile, '--json'], env);
    expect(status.code, status.stderr).toBe(EXIT.ok);
    const s = status.json<{ currentRelease: { version: string }; lock: unknown; live: { state: string } }>();
    expect(s.currentRelease.version).toBe('v2');
    expect(s.lock).toBeNull();
    expect(s.live.state).toBe('running');

    const history = await runCli(['history', 'shop', 'staging', '--json', '--limit', '3'], env);
    // The rollback to v9 found nothing to go to: refused before anything was recorded.
    expect(history.json<Array<{ operation: string; version: string; status: string }>>().map((h) => `${h.operation} ${h.version} ${h.status}`)).toEqual([
      'rollback v2 succeeded',
      'rollback v1 succeeded',
      'deploy bad rolled_back',
    ]);

    const logs = await runCli(['logs', 'shop', 'staging', '--tail', '5', '--config', configFile], env);
    expect(logs.code, logs.stderr).toBe(EXIT.ok);

    const test = await runCli(['provider-test', 'shop', 'staging', '--config', configFile, '--json'], env);
    expect(test.code, test.stderr).toBe(EXIT.ok);
    const report = test.json<{ ok: boolean; checks: Array<{ name: string; ok: boolean }> }>();
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['docker-engine', 'compose-file']));

    // The read-only workflows these commands ran, for the replay fixtures.
    for (const [type, name] of [
      ['inspectStatus', 'inspect-status'],
      ['inspectLogs', 'inspect-logs'],
      ['testProvider', 'test-provider'],
    ] as const) {
      const [run] = await listWorkflows(`WorkflowType='${type}' AND ExecutionStatus='Completed'`);
      expect(run, `no completed ${type} run listed`).toBeDefined();
      await saveHistory(client, run as string, name);
    }
  });

  it('tags every run with search attributes that Temporal can filter on', async () => {
    const query = `FraiseName='shop' AND FraiseEnvironment='staging' AND FraiseProvider='docker_compose' AND FraiseOperation='rollback'`;
    let versions: string[] = [];
    for (let attempt = 0; attempt < 20 && versions.length < 3; attempt++) {
      versions = [];
      for await (const wf of client.workflow.list({ query })) {
        versions.push(String(wf.searchAttributes.FraiseVersion?.[0]));
      }
      if (versions.length < 3) await new Promise((r) => setTimeout(r, 500));
    }
    // The plain rollback learnt its version (v1) in the workflow; the one to v9 failed there but is listed too.
    expect(versions).toEqual(expect.arrayContaining(['v1', 'v2', 'v9']));
  });
});

describe('the lock', () => {
  it('lets exactly one of 20 simultaneous deploys of one target run; the others are refused with exit code 3', async () => {
    const config = await loadConfig(configFile);
    const target: Target = resolveTarget(config, 'shop', 'staging');
    // The racers start on a task queue no worker polls yet, so the winner holds the lock until we let it run.
    const heldQueue = `${taskQueue}-held`;
    const attempts = Array.from({ length: 20 }, (_, i) =>
      startDeployUnderLock(client, target, 'v1', `racer-${i}`, heldQueue),
    );
    const settled = await Promise.allSettled(attempts);
    const started = settled.filter((s) => s.status === 'fulfilled');
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(CliError);
      expect((r.reason as CliError).exitCode).toBe(EXIT.locked);
      expect((r.reason as CliError).message).toMatch(/is locked: deploy of v1 requested by racer-\d+/);
    }

    // A CLI user gets the same refusal, with exit code 3, naming the holder.
    const cli = await runCli(['deploy', 'shop', 'staging', '--version', 'v2', '--config', configFile], env);
    expect(cli.code).toBe(EXIT.locked);
    expect(cli.stderr).toMatch(/docker_compose:shop:staging is locked: deploy of v1 requested by racer-\d+, running since/);
    expect(cli.stderr).toContain('--wait-lock');

    // Many refused at once, each in its own process: every one exits 3, none crashes afterwards on a query the SDK
    // retries after the CLI closed its connection (the server turns most simultaneous queries away).
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => runCli(['deploy', 'shop', 'staging', '--version', 'v2', '--requested-by', `cli-${i}`, '--config', configFile], env)));
    expect(many.map((r) => r.code)).toEqual(Array(8).fill(EXIT.locked));
    expect(many.filter((r) => r.stderr.includes('Channel has been shut down'))).toEqual([]);

    // --wait-lock queues behind the holder: once a worker lets the holder finish, the queued deploy runs.
    const queued = runCli(['deploy', 'shop', 'staging', '--version', 'v2', '--wait-lock', '--config', configFile], env);
    await new Promise((r) => setTimeout(r, 4_000));
    const settings = temporalSettings({ TEMPORAL_ADDRESS: inject('temporalAddress'), FRAISIER_TASK_QUEUE: heldQueue });
    const held = await createFraisierWorker({ settings, records, workflowBundle: { code: inject('workflowBundleCode') } });
    const done = await held.worker.runUntil(queued);
    expect(done.code, done.stderr).toBe(EXIT.ok);
    expect(done.stderr).toContain('waiting for the lock: deploy of v1 requested by racer-');
    expect(await fetchBody(appPort)).toBe('v2');
    const [last, before] = await records.history({ fraise: 'shop', environment: 'staging' }, 2);
    expect([before?.version, last?.version]).toEqual(['v1', 'v2']);
  });
});

describe('cleanup', () => {
  it('stops and removes an expired ephemeral deployment, and keeps its record marked cleaned', async () => {
    const deployed = await runCli(['deploy', 'shop', 'preview', '--version', 'p1', '--ttl', '1s', '--config', configFile, '--json'], env);
    expect(deployed.code, deployed.stderr).toBe(EXIT.ok);
    expect(await containerIds('preview')).toHaveLength(1);
    const previewLock = lockWorkflowId({ provider: 'docker_compose', fraise: 'shop', environment: 'preview' });
    expect((await client.workflow.getHandle(previewLock).describe()).taskQueue).toBe(previewQueue);
    await new Promise((r) => setTimeout(r, 1_500));

    const dry = await runCli(['cleanup', '--dry-run', '--json'], env);
    expect(dry.code, dry.stderr).toBe(EXIT.ok);
    expect(dry.json<{ wouldClean: string[] }>().wouldClean).toEqual(['shop/preview (docker_compose) [p1]']);
    expect(await containerIds('preview')).toHaveLength(1);

    const cleaned = await runCli(['cleanup', '--json'], env);
    expect(cleaned.code, cleaned.stderr).toBe(EXIT.ok);
    const summary = cleaned.json<{ workflowId: string; cleaned: string[]; failed: string[] }>();
    expect(summary.cleaned).toEqual(['shop/preview (docker_compose) [p1]']);
    expect(summary.failed).toEqual([]);
    expect(await containerIds('preview')).toHaveLength(0);
    const [row] = await records.history({ fraise: 'shop', environment: 'preview' }, 1);
    expect(row?.cleanedAt).toBeInstanceOf(Date);
    expect(row?.status).toBe('succeeded');
    await saveHistory(client, summary.workflowId, 'cleanup');
    await saveHistory(client, previewLock, 'cleanup-target');
    // The cleanup of that target ran on the target's own queue, not the cleanup's.
    expect((await client.workflow.getHandle(previewLock).describe()).taskQueue).toBe(previewQueue);

    // The staging service is not ephemeral: untouched.
    expect(await fetchBody(appPort)).toBe('v2');
    const again = await runCli(['cleanup', '--json'], env);
    expect(again.json<{ cleaned: string[] }>().cleaned).toEqual([]);
  });
});

describe('cleanup of many targets', () => {
  it('cleans them a few at a time, continuing as new to keep each run short', async () => {
    const now = Date.now();
    const targets: Target[] = Array.from({ length: 5 }, (_, i) => ({
      fraise: 'bulk',
      environment: `pr-${i}`,
      provider: 'docker_compose',
      config: { compose_file: join(dir, 'docker-compose.yml'), service_name: 'preview', project_name: `${project}-bulk${i}`, pull: 'never' },
      retain: 5,
    }));
    for (const [i, target] of targets.entries()) {
      const key = { workflowId: `seeded-${i}`, runId: `seeded-run-${i}` };
      await records.recordStart({
        ...key, target, operation: 'deploy', version: `p${i}`, previousVersion: null, requestedBy: 'seed',
        ephemeral: true, ttlSeconds: 60, startedAt: new Date(now - 3_600_000 - i * 1000),
      });
      await records.recordResult(key, { status: 'succeeded', url: null, error: null, logs: null, finishedAt: new Date(now - 3_500_000) });
    }
    const workflowId = `cleanup-bulk-${suffix}`;
    const handle = await client.workflow.start(cleanup, {
      workflowId,
      taskQueue,
      args: [{ thresholdSeconds: 3600, itemsPerRun: 2, concurrency: 2 }],
    });
    const summary = await handle.result();
    expect(summary.failed).toEqual([]);
    expect(summary.cleaned).toHaveLength(5);
    expect(new Set(summary.cleaned).size).toBe(5);
    // Three runs: 2 + 2 + 1 items; the first ended by continuing as new.
    const first = await client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    const rows = await records.history({ fraise: 'bulk' }, 10);
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.cleanedAt).toBeInstanceOf(Date);
  });
});

describe('a worker crash', () => {
  it('loses nothing: the step a killed worker was running starts again on another worker, recorded once', async () => {
    const crashQueue = `${taskQueue}-crash`;
    const workerEnv = { ...env, FRAISIER_TASK_QUEUE: crashQueue };
    const workers = [spawnWorker(workerEnv), spawnWorker(workerEnv)];
    try {
      for (const w of workers) expect(await w.ready(), w.output()).toBe(true);
      const config = await loadConfig(configFile);
      const target = resolveTarget(config, 'shop', 'staging');
      const handle = await startDeployUnderLock(client, target, 'v1', 'crash-test', crashQueue);

      // Kill (no goodbye) the worker that runs the deploy step, while it runs: its identity is pid@host.
      let identity = '';
      for (let i = 0; i < 2000 && !identity; i++) {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const running = pending.find((p) => p.activityType?.name === 'deployVersion' && p.state === STARTED);
        identity = running?.lastWorkerIdentity ?? '';
        if (!identity) await new Promise((r) => setTimeout(r, 20));
      }
      expect(identity, 'the deploy step was never seen running').not.toBe('');
      const victim = workers.find((w) => processGroupOf(Number(identity.split('@')[0])) === w.child.pid);
      expect(victim, `no spawned worker is ${identity}`).toBeDefined();
      victim?.kill('SIGKILL');
      const killedAt = Date.now();

      // Nobody unlocks anything: the lock is still held by the same run, which resumes on the other worker.
      const held = await client.workflow.getHandle(lockWorkflowId(target)).describe();
      expect({ runId: held.runId, status: held.status.name }).toEqual({ runId: handle.firstExecutionRunId, status: 'RUNNING' });
      const outcome = await handle.result();
      expect(outcome).toMatchObject({ status: 'succeeded', version: 'v1' });
      const events = (await handle.fetchHistory()).events ?? [];
      const retried = events.find((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
      const retriedAt = retried?.eventTime ? tsToMs(retried.eventTime) : NaN;
      process.stdout.write(
        `worker crash during the deploy step: it started again on the other worker ${((retriedAt - killedAt) / 1000).toFixed(1)}s after the kill; the deploy finished ${((Date.now() - killedAt) / 1000).toFixed(1)}s after it (heartbeat timeout 5 s, retry interval 1 s)\n`,
      );
      // Only the step that died with its worker ran twice: a live step is never retried for being slow.
      const attempts = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 1);
      expect(attempts.filter((a) => a > 1)).toEqual([2]);
      expect(await fetchBody(appPort)).toBe('v1');
      const rows = (await records.history({ fraise: 'shop', environment: 'staging' }, 50)).filter((r) => r.runId === handle.firstExecutionRunId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'succeeded', requestedBy: 'crash-test' });
    } finally {
      for (const w of workers) w.kill();
    }
  });
});

describe('a cancelled deploy', () => {
  it('records its end, and frees the target', async () => {
    const config = await loadConfig(configFile);
    const target = resolveTarget(config, 'shop', 'staging');
    // A successful deploy since has pruned the image of the failed "bad" release: build it again.
    await buildBadImage();
    const handle = await startDeployUnderLock(client, target, 'bad', 'cancel-test', taskQueue);
    expect(await waitForStep(handle, ['wait-ready'])).toBe('wait-ready');
    await handle.cancel();
    const failure = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const [row] = (await records.history({ fraise: 'shop', environment: 'staging' }, 50)).filter((r) => r.runId === handle.firstExecutionRunId);
    // The provider was asked to stop its own work first (docker compose has nothing queued), then the end was recorded.
    expect(row).toMatchObject({ status: 'failed', requestedBy: 'cancel-test' });
    expect(row?.error).toBe(`${CANCELLED_MESSAGE} (docker compose runs inside the activity, which the cancellation stopped: nothing queued to cancel)`);
    expect(row?.finishedAt).toBeInstanceOf(Date);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    await saveHistory(client, handle.workflowId, 'deploy-cancelled');
  });
});

describe('a terminated deploy', () => {
  it('cannot record its end itself: the next cleanup marks its record with what Temporal says', async () => {
    const config = await loadConfig(configFile);
    const target = resolveTarget(config, 'shop', 'staging');
    // Terminated mid-way (from the Web UI or `temporal workflow terminate`), its code never runs again.
    await buildBadImage();
    const handle = await startDeployUnderLock(client, target, 'bad', 'terminate-test', taskQueue);
    expect(await waitForStep(handle, ['wait-ready'])).toBe('wait-ready');
    await handle.terminate('operator stopped it');
    const key = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    expect(await records.getOperation(key)).toMatchObject({ status: 'running' });

    const cleaned = await runCli(['cleanup', '--json'], env);
    expect(cleaned.code, cleaned.stderr).toBe(EXIT.ok);
    expect(cleaned.json<{ reconciled: string[] }>().reconciled).toContain(`${handle.workflowId} run ${handle.firstExecutionRunId}: terminated`);
    const row = await records.getOperation(key);
    expect(row).toMatchObject({ status: 'terminated', requestedBy: 'terminate-test' });
    expect(row?.error).toMatch(/the workflow was terminated at .* before it recorded its end/);
    expect(row?.finishedAt).toBeInstanceOf(Date);
    const history = await runCli(['history', 'shop', 'staging', '--limit', '1'], env);
    expect(history.stdout).toContain('terminated');
  });
});
