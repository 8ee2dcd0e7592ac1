/**
 * fraisier scaled out on a production-shaped Temporal (workers/cluster.ts: PostgreSQL, frontend/history/matching/
 * worker as four processes, SQL visibility) rather than the dev server: several real worker processes (as
 * `npm run worker` starts them), the real CLI, Docker Compose, PostgreSQL for the records. One set-up for all:
 * two workers share the main queue, two per-host queues have a worker each.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS: its namespaces come through the default export under ESM.
import proto from '@temporalio/proto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EXIT } from '../../client/exitCodes';
import { queryProgress } from '../../client/follow';
import { loadConfig } from '../../config/load';
import { resolveTarget } from '../../config/resolve';
import { openRecords } from '../../db/connect';
import type { Records } from '../../db/types';
import { lockWorkflowId } from '../../domain/ids';
import type { Target } from '../../domain/target';
import { freeClusterPorts, startCluster, stopCluster, type RunningCluster } from '../../workers/cluster';
import { freePort } from '../../workers/devServer';
import { buildAppImage, buildBusyboxImage, removeImages } from '../support/appImage';
import { runCli } from '../support/cli';
import { startDeployUnderLock } from '../support/deploys';
import { ensureDockerd } from '../support/dockerd';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres';
import { waitForStep } from '../support/progress';
import { spawnWorker, type SpawnedWorker } from '../support/workers';

const suffix = `${process.pid}`;
const prefix = `fraisier-scale-${suffix}`;
const image = prefix;
const bbImage = `${prefix}-bb`;
const queue = `scale-${suffix}`;
const hostAQueue = `scale-${suffix}-host-a`;
const hostBQueue = `scale-${suffix}-host-b`;
const FLEET = 20;

const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

interface RunningWorker {
  name: string;
  spawned: SpawnedWorker;
  /** The processes of its group (tsx and the node under it): its identity is `<one of them>@host`. */
  pids: Set<number>;
}

let dataDir: string | undefined;
let cluster: RunningCluster | undefined;
let client: Client | undefined;
let recordsDb: PostgresCluster | undefined;
let records: Records;
let dir: string | undefined;
let configFile: string;
let env: Record<string, string>;
const spawned: SpawnedWorker[] = [];
const ports = { app: 0, bad: 0, preview: 0, edgeA: 0, edgeB: 0, slow: 0, fleet: [] as number[] };
let w1: RunningWorker;
let w2: RunningWorker;
let hostA: RunningWorker;
let hostB: RunningWorker;
const workers: RunningWorker[] = [];

function report(line: string): void {
  process.stdout.write(`[scaleOut.test] ${line}\n`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function temporal(): Client {
  if (!client) throw new Error('no Temporal client: the set-up failed');
  return client;
}

/** Checks `check` every `pauseMs` until it holds; fails naming `what` after `ms`. */
async function poll(what: string, check: () => Promise<boolean>, ms: number, pauseMs = 250): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${secs(ms)} waiting for ${what}`);
    await sleep(pauseMs);
  }
}

/** The processes whose process group is `pgid` (Linux /proc). */
function groupMembers(pgid: number): Set<number> {
  const out = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces, so count from the closing parenthesis.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) out.add(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A worker process on `taskQueue`, polling. */
async function startWorker(name: string, taskQueue: string): Promise<RunningWorker> {
  const s = spawnWorker({ ...env, FRAISIER_TASK_QUEUE: taskQueue });
  spawned.push(s);
  if (!(await s.ready(180_000))) throw new Error(`worker ${name} did not start:\n${s.output()}`);
  const w = { name, spawned: s, pids: groupMembers(s.child.pid as number) };
  workers.push(w);
  return w;
}

/** Which of our workers an identity (`pid@host`) is. */
function workerOf(identity: string): string {
  const pid = Number(identity.split('@')[0]);
  return workers.find((w) => w.pids.has(pid))?.name ?? `unknown (${identity})`;
}

/** The workers that started the activities of one run, one entry per activity attempt. */
async function activityWorkers(workflowId: string, runId?: string): Promise<string[]> {
  const history = await temporal().workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const identity = e.activityTaskStartedEventAttributes?.identity;
    return identity ? [workerOf(identity)] : [];
  });
}

function count(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

async function fetchBody(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return (await res.text()).trim();
}

async function containerIds(project: string, service: string): Promise<string[]> {
  const r = await execa('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`]);
  return r.stdout.split('\n').filter(Boolean);
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

function compose(services: Record<string, { image: string; command?: string[] }>): string {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, s] of Object.entries(services)) out[name] = { image: s.image, ...(s.command ? { command: s.command } : {}), network_mode: 'host' };
  return stringify({ services: out });
}

function httpd(port: number | string): string[] {
  return ['httpd', '-f', '-p', String(port), '-h', '/www'];
}

function composeEnv(o: { file: string; service: string; project: string; envFile: string; queue?: string; tcpPort: number; healthTimeout?: string }): Record<string, unknown> {
  return {
    provider: 'docker_compose',
    ...(o.queue ? { task_queue: o.queue } : {}),
    health_check: { type: 'tcp', port: o.tcpPort, timeout: o.healthTimeout ?? '30s', interval: '1s' },
    config: { compose_file: o.file, service_name: o.service, project_name: o.project, env_file: o.envFile, pull: 'never' },
  };
}

beforeAll(async () => {
  await ensureDockerd();
  dataDir = await mkdtemp(join(tmpdir(), 'fraisier-scale-cluster-'));
  // As root, PostgreSQL runs as the postgres user, who must pass through the data dir.
  await chmod(dataDir, 0o755);
  const clusterPorts = await freeClusterPorts();
  const t0 = Date.now();
  const clusterStarting = startCluster({ dataDir, ...clusterPorts }).then((c) => {
    report(`cluster (PostgreSQL + 4 services) cold start: ${secs(Date.now() - t0)}`);
    return c;
  });
  // Awaited below; meanwhile a failure must not count as unhandled.
  clusterStarting.catch(() => undefined);

  const free = await distinctFreePorts(6 + FLEET);
  const take = (): number => {
    const p = free.shift();
    if (p === undefined) throw new Error('ran out of ports');
    return p;
  };
  Object.assign(ports, { app: take(), bad: take(), preview: take(), edgeA: take(), edgeB: take(), slow: take() });
  ports.fleet = free;
  dir = await mkdtemp(join(tmpdir(), 'fraisier-scale-'));
  const d = dir;
  const bb = (variable: string) => `${bbImage}:\${${variable}:-v1}`;
  await writeFile(
    join(d, 'main.yml'),
    compose({ web: { image: `${image}:\${VERSION:-v1}` }, preview: { image: `${image}:\${PREVIEW_VERSION:-p1}` } }),
  );
  await writeFile(join(d, 'edge.yml'), compose({ 'edge-a': { image: bb('VERSION'), command: httpd(ports.edgeA) }, 'edge-b': { image: bb('VERSION'), command: httpd(ports.edgeB) } }));
  // Comes up at once but answers on its port only after a few seconds: the deploy waits in its health check.
  await writeFile(join(d, 'slow.yml'), compose({ slow: { image: bb('VERSION'), command: ['sh', '-c', `/busybox sleep 4; exec /busybox ${httpd(ports.slow).join(' ')}`] } }));
  // One service, twenty projects: each target's env file gives its port.
  await writeFile(join(d, 'fleet.yml'), compose({ app: { image: bb('VERSION'), command: httpd('${PORT}') } }));
  for (const [i, port] of ports.fleet.entries()) await writeFile(join(d, `fleet-n${i}.env`), `PORT=${port}\n`);

  configFile = join(d, 'fraises.yaml');
  await writeFile(
    configFile,
    stringify({
      fraises: {
        shop: {
          type: 'web',
          // The "bad" release listens elsewhere: this check fails until its timeout, then it is rolled back.
          health_check: { type: 'http', port: ports.app, path: '/', timeout: '12s', interval: '1s' },
          providers: {
            staging: { provider: 'docker_compose', config: { compose_file: 'main.yml', service_name: 'web', project_name: prefix, env_file: 'main.env', pull: 'never' } },
            preview: {
              provider: 'docker_compose',
              health_check: { type: 'tcp', port: ports.preview, timeout: '10s', interval: '1s' },
              config: { compose_file: 'main.yml', service_name: 'preview', project_name: prefix, env_file: 'main.env', version_variable: 'PREVIEW_VERSION', pull: 'never' },
            },
          },
        },
        edge: {
          type: 'web',
          providers: {
            a: composeEnv({ file: 'edge.yml', service: 'edge-a', project: `${prefix}-edge-a`, envFile: 'edge-a.env', queue: hostAQueue, tcpPort: ports.edgeA }),
            b: composeEnv({ file: 'edge.yml', service: 'edge-b', project: `${prefix}-edge-b`, envFile: 'edge-b.env', queue: hostBQueue, tcpPort: ports.edgeB }),
          },
        },
        slow: {
          type: 'web',
          providers: { prod: composeEnv({ file: 'slow.yml', service: 'slow', project: `${prefix}-slow`, envFile: 'slow.env', tcpPort: ports.slow, healthTimeout: '120s' }) },
        },
        fleet: {
          type: 'web',
          providers: Object.fromEntries(
            ports.fleet.map((port, i) => [`n${i}`, composeEnv({ file: 'fleet.yml', service: 'app', project: `${prefix}-n${i}`, envFile: `fleet-n${i}.env`, tcpPort: port })]),
          ),
        },
      },
    }),
  );

  const [c] = await Promise.all([
    clusterStarting,
    (async () => {
      recordsDb = await startPostgresCluster();
      // Migrated here, before the workers open it.
      records = await openRecords(recordsDb.url);
    })(),
    buildAppImage(`${image}:v1`, { body: 'v1', port: ports.app }),
    buildAppImage(`${image}:v2`, { body: 'v2', port: ports.app }),
    buildAppImage(`${image}:bad`, { body: 'bad', port: ports.bad }),
    buildAppImage(`${image}:p1`, { body: 'p1', port: ports.preview }),
    buildBusyboxImage(`${bbImage}:v1`).then(() => execa('docker', ['tag', `${bbImage}:v1`, `${bbImage}:v2`])),
  ]);
  cluster = c;
  client = new Client({ connection: await Connection.connect({ address: c.address }), namespace: c.namespace });
  env = { ...(process.env as Record<string, string>), TEMPORAL_ADDRESS: c.address, DATABASE_URL: (recordsDb as PostgresCluster).url, FRAISIER_TASK_QUEUE: queue };

  const t1 = Date.now();
  [w1, w2, hostA, hostB] = await Promise.all([startWorker('w1', queue), startWorker('w2', queue), startWorker('host-a', hostAQueue), startWorker('host-b', hostBQueue)]);
  report(`4 worker processes polling in ${secs(Date.now() - t1)}`);
}, 300_000);

afterAll(async () => {
  for (const s of spawned) s.kill('SIGKILL');
  await client?.connection.close();
  await records?.close();
  await recordsDb?.stop();
  // Also when startCluster failed half-way: whatever runs in the data dir.
  if (dataDir) await stopCluster({ dataDir }).catch((err: unknown) => report(`stopping the cluster: ${String(err)}`));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  const listed = await execa('docker', ['ps', '-a', '--format', '{{.ID}} {{.Label "com.docker.compose.project"}}'], { reject: false });
  const ours = (listed.stdout ?? '')
    .split('\n')
    .map((l) => l.split(' '))
    .filter(([, project]) => project?.startsWith(prefix))
    .map(([id]) => id as string);
  if (ours.length > 0) await execa('docker', ['rm', '-f', ...ours], { reject: false, timeout: 120_000 });
  await removeImages([`${image}:v1`, `${image}:v2`, `${image}:bad`, `${image}:p1`, `${bbImage}:v1`, `${bbImage}:v2`]);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 180_000);

describe('fraisier on a production-shaped Temporal, with several worker processes', () => {
  it('two workers sharing one queue: deploys, automatic and manual rollback, the lock, cleanup and search attributes', async () => {
    const t0 = Date.now();
    const deployArgs = (version: string, ...more: string[]) => ['deploy', 'shop', 'staging', '--version', version, '--config', configFile, ...more];
    const first = await runCli(deployArgs('v1', '--json'), env);
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(first.json<{ outcome: unknown }>().outcome).toMatchObject({ status: 'succeeded', version: 'v1' });
    expect(await fetchBody(ports.app)).toBe('v1');
    const second = await runCli(deployArgs('v2', '--json'), env);
    expect(second.code, second.stderr).toBe(EXIT.ok);
    expect(await fetchBody(ports.app)).toBe('v2');

    // A broken release: while it fails its health check (12 s), it holds the lock.
    const broken = runCli(deployArgs('bad', '--requested-by', 'breaker', '--json'), env);
    const lock = temporal().workflow.getHandle(lockWorkflowId({ provider: 'docker_compose', fraise: 'shop', environment: 'staging' }));
    await poll(
      'the broken release to reach its health check',
      async () => {
        const d = await lock.describe();
        if (d.status.name !== 'RUNNING' || (d.memo as { version?: string } | undefined)?.version !== 'bad') return false;
        return (await queryProgress(lock))?.current === 'health-check';
      },
      90_000,
    );
    const refusedRun = runCli(deployArgs('v1', '--requested-by', 'impatient'), env);
    const queuedRun = runCli(deployArgs('v1', '--requested-by', 'patient', '--wait-lock'), env);
    const refused = await refusedRun;
    expect(refused.code, refused.stderr).toBe(EXIT.locked);
    expect(refused.stderr).toMatch(/docker_compose:shop:staging is locked: deploy of bad requested by breaker, running since/);

    const b = await broken;
    expect(b.code, b.stderr).toBe(EXIT.failed);
    const rolled = b.json<{ runId: string; outcome: { status: string; rolledBackTo: string } }>();
    expect(rolled.outcome).toMatchObject({ status: 'rolled_back', rolledBackTo: 'v2' });

    const queued = await queuedRun;
    expect(queued.code, queued.stderr).toBe(EXIT.ok);
    expect(queued.stderr).toContain('waiting for the lock: deploy of bad requested by breaker');
    expect(queued.stdout).toContain('v1 is live');
    expect(await fetchBody(ports.app)).toBe('v1');

    const back = await runCli(['rollback', 'shop', 'staging', '--config', configFile, '--json'], env);
    expect(back.code, back.stderr).toBe(EXIT.ok);
    expect(back.json<{ outcome: unknown }>().outcome).toMatchObject({ status: 'succeeded', version: 'v2', previousVersion: 'v1' });
    expect(await fetchBody(ports.app)).toBe('v2');

    // Recorded once each; the refused deploy never started.
    const key = { fraise: 'shop', environment: 'staging', provider: 'docker_compose' };
    expect((await records.history(key, 20)).map((h) => `${h.operation} ${h.version} ${h.status}${h.requestedBy === 'patient' || h.requestedBy === 'breaker' ? ` ${h.requestedBy}` : ''}`)).toEqual([
      'rollback v2 succeeded',
      'deploy v1 succeeded patient',
      'deploy bad rolled_back breaker',
      'deploy v2 succeeded',
      'deploy v1 succeeded',
    ]);

    // Cleanup of an ephemeral deployment.
    const preview = await runCli(['deploy', 'shop', 'preview', '--version', 'p1', '--ttl', '1s', '--config', configFile, '--json'], env);
    expect(preview.code, preview.stderr).toBe(EXIT.ok);
    expect(await containerIds(prefix, 'preview')).toHaveLength(1);
    await sleep(1_500);
    const cleaned = await runCli(['cleanup', '--json'], env);
    expect(cleaned.code, cleaned.stderr).toBe(EXIT.ok);
    const summary = cleaned.json<{ workflowId: string; cleaned: string[]; failed: string[] }>();
    expect(summary).toMatchObject({ cleaned: ['shop/preview (docker_compose) [p1]'], failed: [] });
    expect(await containerIds(prefix, 'preview')).toHaveLength(0);
    const [previewRow] = await records.history({ fraise: 'shop', environment: 'preview' }, 1);
    expect(previewRow?.cleanedAt).toBeInstanceOf(Date);
    expect(await fetchBody(ports.app)).toBe('v2');

    // SQL visibility finds the five runs by fraisier's search attributes (it may lag a little behind).
    const query = "FraiseName='shop' AND FraiseEnvironment='staging'";
    let runs: Array<{ workflowId: string; runId: string; operation: string }> = [];
    await poll(
      'the five runs in SQL visibility',
      async () => {
        runs = [];
        for await (const wf of temporal().workflow.list({ query })) runs.push({ workflowId: wf.workflowId, runId: wf.runId, operation: String(wf.searchAttributes.FraiseOperation?.[0]) });
        return runs.length >= 5;
      },
      20_000,
      500,
    );
    expect(runs.map((r) => r.operation).sort()).toEqual(['deploy', 'deploy', 'deploy', 'deploy', 'rollback']);
    const runIds = runs.map((r) => r.runId);
    for (const r of [first, second, back]) expect(runIds).toContain(r.json<{ runId: string }>().runId);
    expect(runIds).toContain(rolled.runId);

    // Both worker processes took part: activities of these runs started on each.
    const byWorker = count((await Promise.all([...runs, { workflowId: summary.workflowId, runId: undefined }].map((r) => activityWorkers(r.workflowId, r.runId)))).flat());
    report(`scenario 1: activity attempts per worker: ${JSON.stringify(byWorker)}; ${secs(Date.now() - t0)}`);
    expect(Object.keys(byWorker).sort()).toEqual([w1.name, w2.name].sort());
  });

  it("two per-host queues: each target's activities run on its own queue's worker, and wait for it when it is down", async () => {
    const [a, b] = await Promise.all(
      ['a', 'b'].map((e) => runCli(['deploy', 'edge', e, '--version', 'v1', '--config', configFile, '--json'], env)),
    );
    for (const [r, w, q] of [
      [a, hostA, hostAQueue],
      [b, hostB, hostBQueue],
    ] as const) {
      if (!r) throw new Error('no CLI run');
      expect(r.code, r.stderr).toBe(EXIT.ok);
      const { workflowId, runId } = r.json<{ workflowId: string; runId: string }>();
      expect((await temporal().workflow.getHandle(workflowId, runId).describe()).taskQueue).toBe(q);
      const ran = await activityWorkers(workflowId, runId);
      expect(ran.length).toBeGreaterThan(3);
      expect(new Set(ran)).toEqual(new Set([w.name]));
    }

    // host-b's worker stops: a deploy to host-b waits for it, and host-a's worker does not take it.
    hostB.spawned.kill('SIGTERM');
    await poll('host-b worker to exit', async () => hostB.spawned.child.exitCode !== null || hostB.spawned.child.signalCode !== null, 60_000);
    const target: Target = resolveTarget(await loadConfig(configFile), 'edge', 'b');
    const handle = await startDeployUnderLock(temporal(), target, 'v2', 'while-b-down', hostBQueue);
    await sleep(5_000);
    const waiting = (await handle.fetchHistory()).events ?? [];
    expect(waiting.filter((e) => e.workflowTaskStartedEventAttributes || e.activityTaskScheduledEventAttributes)).toEqual([]);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(hostA.spawned.child.exitCode).toBeNull();

    const t0 = Date.now();
    const hostBAgain = await startWorker('host-b (again)', hostBQueue);
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'succeeded', version: 'v2' });
    report(`scenario 2: the waiting host-b deploy finished ${secs(Date.now() - t0)} after its worker was started again`);
    expect(new Set(await activityWorkers(handle.workflowId, handle.firstExecutionRunId))).toEqual(new Set([hostBAgain.name]));
    expect(await fetchBody(ports.edgeB)).toBe(`${bbImage}:v1`);
    const rows = await records.history({ fraise: 'edge', environment: 'b' }, 10);
    expect(rows.map((r) => `${r.version} ${r.status}`)).toEqual(['v2 succeeded', 'v1 succeeded']);
  });

  it('a server restart mid-deploy: the deploy completes, recorded once', async () => {
    const c = cluster as RunningCluster;
    const target: Target = resolveTarget(await loadConfig(configFile), 'slow', 'prod');
    const t0 = Date.now();
    const handle = await startDeployUnderLock(temporal(), target, 'v1', 'restart-test', queue);
    expect(await waitForStep(handle, ['health-check'], 600, 100)).toBe('health-check');
    const t1 = Date.now();
    await c.stopServices();
    const stopped = Date.now();
    await sleep(3_000);
    const t2 = Date.now();
    await c.startServices();
    const back = Date.now();
    const outcome = await handle.result();
    const done = Date.now();
    expect(outcome).toMatchObject({ status: 'succeeded', version: 'v1' });
    report(
      `scenario 3: services stopped in ${secs(stopped - t1)}, down 3 s, started again in ${secs(back - t2)}; ` +
        `the deploy finished ${secs(done - back)} after the services were back (${secs(done - t0)} in all)`,
    );
    // It was still waiting when the services stopped: it completed after they were back.
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.closeTime?.getTime()).toBeGreaterThanOrEqual(t2);
    const rows = await records.history({ fraise: 'slow', environment: 'prod' }, 10);
    expect(rows.map((r) => ({ runId: r.runId, status: r.status }))).toEqual([{ runId: handle.firstExecutionRunId, status: 'succeeded' }]);
    expect(await fetchBody(ports.slow)).toBe(`${bbImage}:v1`);
  });

  it('a worker SIGKILLed with 20 deploys in flight on two workers: all 20 succeed, each recorded once', async () => {
    const config = await loadConfig(configFile);
    const targets = ports.fleet.map((_, i) => resolveTarget(config, 'fleet', `n${i}`));
    const t0 = Date.now();
    const handles = await Promise.all(targets.map((t) => startDeployUnderLock(temporal(), t, 'v1', 'fleet', queue)));

    // Kill the worker that runs at least 2 deploy steps (docker compose up) of them at once.
    interface InFlight {
      run: number;
      activityId: string;
      type: string;
    }
    let victim: RunningWorker | undefined;
    let inFlight: InFlight[] = [];
    await poll(
      'a worker running at least 2 deploy steps at once',
      async () => {
        const descriptions = await Promise.all(handles.map((h) => h.describe()));
        const on = new Map<string, InFlight[]>();
        for (const [run, d] of descriptions.entries()) {
          for (const p of d.raw.pendingActivities ?? []) {
            if (p.state !== STARTED || !p.lastWorkerIdentity || !p.activityId) continue;
            const w = workerOf(p.lastWorkerIdentity);
            on.set(w, [...(on.get(w) ?? []), { run, activityId: p.activityId, type: p.activityType?.name ?? '?' }]);
          }
        }
        victim = [w1, w2].find((w) => (on.get(w.name) ?? []).filter((a) => a.type === 'deployVersion').length >= 2);
        inFlight = victim ? (on.get(victim.name) ?? []) : [];
        return victim !== undefined;
      },
      120_000,
      100,
    );
    const killed = victim as RunningWorker;
    killed.spawned.kill('SIGKILL');
    const killedAt = Date.now();
    report(`scenario 4: SIGKILL to ${killed.name} ${secs(killedAt - t0)} after the starts, while it ran ${inFlight.map((a) => a.type).join(', ')}`);
    // A replacement joins the survivor.
    const replacement = await startWorker('w3', queue);

    const outcomes = await Promise.all(handles.map((h) => h.result()));
    const doneAt = Date.now();
    expect(outcomes.map((o) => o.status)).toEqual(Array(FLEET).fill('succeeded'));

    const ran: string[] = [];
    const histories = await Promise.all(handles.map(async (h) => (await h.fetchHistory()).events ?? []));
    for (const [i, events] of histories.entries()) {
      expect(events.at(-1)?.workflowExecutionCompletedEventAttributes, `${handles[i]?.workflowId} did not complete`).toBeTruthy();
      for (const e of events) if (e.activityTaskStartedEventAttributes) ran.push(workerOf(e.activityTaskStartedEventAttributes.identity ?? ''));
    }
    // What the killed worker was running: started again on another worker (a history keeps the last attempt), unless
    // it had just finished before the kill.
    const fates = inFlight.map((a) => {
      const events = histories[a.run] ?? [];
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === a.activityId);
      const started = events.find((e) => scheduled && String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
      const attempt = started?.activityTaskStartedEventAttributes?.attempt ?? 0;
      const by = workerOf(started?.activityTaskStartedEventAttributes?.identity ?? '');
      return attempt > 1 && by !== killed.name ? 'retried' : attempt === 1 && by === killed.name ? 'finished before the kill' : `attempt ${attempt} by ${by}`;
    });
    expect(fates.filter((f) => f !== 'retried' && f !== 'finished before the kill')).toEqual([]);
    expect(fates).toContain('retried');
    const rows = await records.history({ fraise: 'fleet' }, 10 * FLEET);
    for (const [i, h] of handles.entries()) {
      const mine = rows.filter((r) => r.environment === `n${i}`);
      expect(mine.map((r) => ({ runId: r.runId, status: r.status }))).toEqual([{ runId: h.firstExecutionRunId, status: 'succeeded' }]);
    }
    expect(rows).toHaveLength(FLEET);
    for (const port of ports.fleet) expect(await fetchBody(port)).toBe(`${bbImage}:v1`);
    report(
      `scenario 4: 20 deploys done in ${secs(doneAt - t0)} wall time (${secs(doneAt - killedAt)} after the kill); ` +
        `activities by worker (last attempts) ${JSON.stringify(count(ran))}; what ${killed.name} ran: ${JSON.stringify(count(fates))}`,
    );
    expect(replacement.spawned.child.exitCode).toBeNull();
  });
});
