/**
 * Phase 6: scale, with an in-process no-op provider so that only fraisier's own cost is measured (Temporal, one
 * worker, the records): throughput of N concurrent deploys against a ceiling of N bare workflows with as many
 * no-op activities, the worker's RSS with N deploys in flight, history events per deploy, and cleanup of many
 * expired ephemeral records (continue-as-new chain, history per run, how busy its concurrency is kept).
 * Runs on the bench's dev server, or on --temporal-address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { Agent } from 'undici';
import { createCommandRunner } from '../../../activities/runner';
import { temporalSettings } from '../../../config/temporal';
import { cleanup } from '../../../workflows/cleanup';
import { createFraisierWorker, WORKFLOWS_PATH, type WorkerTuning } from '../../../workers/worker';
import { startDeployUnderLock } from '../../support/deploys';
import { HISTORIES_DIR } from '../../support/histories';
import type { Env } from '../env';
import { seedExpiredDeploy } from '../seed';
import { num, tsMs } from '../history';
import { heading, ms, now, percentile, printTable, stats, within } from '../report';
import { cpuPercent, DbMeter, measured, meteredRecords, procMemoryMb, ProcessSampler, resourceRows, type ProcessSample, type RunResources } from '../scale/meters';
import { noopProvider, noopTarget } from '../scale/noopProvider';
import { ceilingChain, type CeilingActivities } from '../scale/workflows';

const CEILING_WORKFLOWS_PATH = fileURLToPath(new URL('../scale/workflows.ts', import.meta.url));
const TSX_CLI = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('../scale/workerMain.ts', import.meta.url));
/** How long the worker process is left alone after start-up before its idle RSS is read. */
const IDLE_SETTLE_MS = 3_000;

/**
 * One worker for everything, sized for hundreds of short workflows in flight on 2 cores: every running deploy stays
 * in the cache (no replays), activities are never what queues (they are I/O on the records), and workflow tasks may
 * overlap their round trips to the server. Both workers (fraisier's and the ceiling's) get exactly these settings.
 */
type Tuning = Required<Pick<WorkerTuning, 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentActivityTaskExecutions' | 'maxCachedWorkflows' | 'maxConcurrentWorkflowTaskPolls' | 'maxConcurrentActivityTaskPolls'>>;
const TUNING: Tuning = {
  maxConcurrentWorkflowTaskExecutions: 100,
  maxConcurrentActivityTaskExecutions: 200,
  maxCachedWorkflows: 1_000,
  maxConcurrentWorkflowTaskPolls: 10,
  maxConcurrentActivityTaskPolls: 10,
};

/** How many finished deploys have their history read back for the events figure. */
const HISTORY_SAMPLE = 20;
/** Concurrent writers seeding the expired records. */
const SEED_WRITERS = 8;

/** The scale phase's bound: its cleanup of 10,000 records alone takes tens of minutes on 2 cores. */
export function scalePhaseBoundMs(phaseTimeoutMs: number): number {
  return Math.max(phaseTimeoutMs, 3_600_000);
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

interface HistoryEvents {
  events: Array<Record<string, unknown>>;
}

function countScheduledActivities(history: HistoryEvents): number {
  return history.events.filter((e) => e.activityTaskScheduledEventAttributes !== undefined && e.activityTaskScheduledEventAttributes !== null).length;
}

function perSecond(count: number, wallMs: number): string {
  return (count / (wallMs / 1000)).toFixed(1);
}

function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
}

export async function benchScale(env: Env): Promise<void> {
  const { opts } = env;
  const n = opts.scaleDeploys;
  const cores = os.availableParallelism();
  const inProcess = opts.scaleWorker === 'inline';
  const tuning: Tuning = { ...TUNING, ...(opts.scaleMaxCached !== null ? { maxCachedWorkflows: opts.scaleMaxCached } : {}) };
  const postgresUrl = env.dbUrls.get('postgres');
  if (!inProcess && (opts.db.includes('pglite') || postgresUrl === undefined)) {
    throw new Error('--scale-worker process needs --db postgres (the worker process writes the records to a PostgreSQL it can reach); or use --scale-worker inline');
  }
  heading(`6. scale: ${n} concurrent deploys with an in-process no-op provider, one worker (${inProcess ? 'in the bench process' : 'a process of its own'}); ceiling; RSS; history; cleanup of ${opts.scaleCleanupRecords} expired records`);
  console.log(`  (this machine has ${cores} cores shared with other engineers' builds: load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}; see "other processes" below each run)`);

  const closers: Array<() => Promise<unknown>> = [];
  try {
    // Temporal: the bench's dev server, or the one given.
    const external = opts.temporalAddress !== null;
    const address = opts.temporalAddress ?? env.temporalAddress;
    const namespace = external ? opts.temporalNamespace : env.temporalNamespace;
    const serverPid = external ? undefined : env.temporalServerPid;
    let client = env.client;
    if (external) {
      const connection = await Connection.connect({ address });
      closers.push(() => connection.close());
      client = new Client({ connection, namespace });
    }
    const queue = `${env.taskQueue}-scale`;
    const ceilingQueue = `${env.taskQueue}-ceiling`;

    const memory: string[][] = [];
    const noteMemory = (stage: string): void => {
      const m = process.memoryUsage();
      const mb = (b: number): string => (b / 2 ** 20).toFixed(0);
      memory.push([stage, mb(m.rss), mb(m.heapUsed), mb(m.external), mb(m.arrayBuffers)]);
    };
    noteMemory('phase start (PGlite if used, client, tsx)');
    const t0Bundle = now();
    const [fraisierBundle, ceilingBundle] = await Promise.all([
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }),
      bundleWorkflowCode({ workflowsPath: CEILING_WORKFLOWS_PATH, logger: quietLogger }),
    ]);
    const bundleMs = now() - t0Bundle;
    noteMemory('after bundling both workflow sets (webpack)');

    const db = new DbMeter();
    let markCleanedDone = 0;
    const { extra, counters } = noopProvider();
    const http = new Agent();
    closers.push(() => http.close());
    const settings = temporalSettings({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, FRAISIER_TASK_QUEUE: queue });
    /** The deploys' worker in this process (inline mode; in process mode, for the cleanup part once the process is gone). */
    const startInlineWorker = async (): Promise<void> => {
      const fraisier = await createFraisierWorker({
        settings,
        records: meteredRecords(env.workerRecords, db, { afterMarkCleaned: () => (markCleanedDone += 1) }),
        workflowBundle: { code: fraisierBundle.code },
        providerDeps: { run: createCommandRunner(), http, env: {} },
        extraProviders: { [extra.entry.name]: extra },
        tuning,
      });
      const fraisierRunning = fraisier.worker.run();
      closers.push(async () => {
        fraisier.worker.shutdown();
        await within(60_000, 'scale worker shutdown', fraisierRunning).catch(() => undefined);
        await fraisier.connection.close();
      });
    };
    let workerProcess: WorkerProcess | undefined;
    const workerRss: string[][] = [];
    const noteWorkerRss = async (stage: string): Promise<void> => {
      const m = workerProcess ? await procMemoryMb(workerProcess.pid) : undefined;
      if (m) workerRss.push([stage, m.rssMb.toFixed(0), m.hwmMb.toFixed(0)]);
    };
    if (inProcess) {
      await startInlineWorker();
      noteMemory('fraisier worker created and running');
    } else {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'fraisier-scale-'));
      closers.push(() => rm(dir, { recursive: true, force: true }));
      const codePath = path.join(dir, 'workflow-bundle.js');
      await writeFile(codePath, fraisierBundle.code);
      const t0Spawn = now();
      workerProcess = await spawnWorkerProcess({
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        FRAISIER_TASK_QUEUE: queue,
        DATABASE_URL: postgresUrl ?? '',
        BENCH_WORKFLOW_BUNDLE: codePath,
        BENCH_SCALE_TUNING: JSON.stringify(tuning),
      });
      const spawned = workerProcess;
      closers.push(() => spawned.stop());
      const startMs = now() - t0Spawn;
      await noteWorkerRss(`ready (${ms(startMs)} ms after spawn)`);
      await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
      await noteWorkerRss(`idle, ${IDLE_SETTLE_MS / 1000} s later`);
      noteMemory('fraisier worker process started');
    }

    printTable(
      ['scale setup', ''],
      [
        ['Temporal', external ? `${address} (given, namespace ${namespace})` : `bench's dev server ${address} (SQLite in memory), pid ${serverPid ?? '?'}`],
        ['records database (worker)', env.opts.db.includes('pglite') ? 'PGlite, in this process, over its socket' : 'PostgreSQL (separate process)'],
        [
          'worker',
          workerProcess
            ? `one, a process of its own (scale/workerMain.ts, pid ${workerProcess.pid}, prebuilt bundle), task queue ${queue}; the ceiling's worker in this process, on ${ceilingQueue}`
            : `one, in this process, task queue ${queue}; the ceiling's worker on ${ceilingQueue}`,
        ],
        ...Object.entries(tuning).map(([k, v]) => [`  ${k}`, String(v)]),
        ['  workflowThreadPoolSize / reuseV8Context', '1 / true (defaults)'],
        ['bundle both workflow sets', `${ms(bundleMs)} ms`],
      ],
    );

    // Warm-up: one deploy, which also says how many activities a deploy schedules.
    const fraise = `scale${process.pid}`;
    const t0Warm = now();
    const warm = await startDeployUnderLock(client, noopTarget(fraise, 'warm'), 'v1', 'bench-scale', queue);
    const warmOutcome = await warm.result();
    const warmMs = now() - t0Warm;
    if (warmOutcome.status !== 'succeeded') throw new Error(`warm-up deploy ended ${warmOutcome.status}: ${warmOutcome.detail}`);
    const warmHistory = await warm.fetchHistory();
    const activitiesPerDeploy = countScheduledActivities({ events: (warmHistory.events ?? []) as unknown as Array<Record<string, unknown>> });
    const recorded = JSON.parse(await readFile(`${HISTORIES_DIR}deploy-succeeded.json`, 'utf8')) as HistoryEvents;
    const recordedActivities = countScheduledActivities(recorded);
    await noteWorkerRss('after the warm-up deploy');
    console.log(`  one deploy alone (warm-up, cold worker): ${ms(warmMs)} ms end to end`);
    console.log(
      `  activities per deploy: ${activitiesPerDeploy} in the warm-up deploy's history, ${recordedActivities} in test/histories/deploy-succeeded.json (Docker Compose); the ceiling runs ${activitiesPerDeploy}`,
    );

    // Ceiling first: N workflows of as many no-op activities, same server, same worker settings, a worker of their own.
    const ceilingConnection = await NativeConnection.connect(settings.connection);
    closers.push(() => ceilingConnection.close());
    const ceilingActivities: CeilingActivities = { noop: async () => 1 };
    const ceilingWorker = await Worker.create({
      ...tuning,
      connection: ceilingConnection,
      namespace,
      taskQueue: ceilingQueue,
      workflowBundle: { code: ceilingBundle.code },
      activities: ceilingActivities,
    });
    const ceilingRunning = ceilingWorker.run();
    let ceilingRun: Awaited<ReturnType<typeof concurrentRun>>;
    try {
      const warmCeiling = await client.workflow.start(ceilingChain, { workflowId: `bench-ceiling-${process.pid}-warm`, taskQueue: ceilingQueue, args: [activitiesPerDeploy] });
      await warmCeiling.result();
      ceilingRun = await concurrentRun(n, db, serverPid, cores, async (i) => {
        const handle = await client.workflow.start(ceilingChain, {
          workflowId: `bench-ceiling-${process.pid}-${i}`,
          taskQueue: ceilingQueue,
          args: [activitiesPerDeploy],
          workflowExecutionTimeout: '2 hours',
        });
        return { handle, done: handle.result().then(() => undefined) };
      });
    } finally {
      ceilingWorker.shutdown();
      await within(60_000, 'ceiling worker shutdown', ceilingRunning).catch(() => undefined);
    }

    // Throughput: N deploys at once on N targets (after the ceiling: the server then holds more, which can only slow the deploys).
    await noteWorkerRss(`after the ceiling run (in the bench process), before the ${n} deploys`);
    const sampler = workerProcess ? new ProcessSampler(workerProcess.pid, 150) : undefined;
    await sampler?.start();
    let workerSample: ProcessSample | undefined;
    const deployRun = await concurrentRun(n, db, serverPid, cores, async (i) => {
      const handle = await startDeployUnderLock(client, noopTarget(fraise, `t${i}`), 'v1', 'bench-scale', queue);
      return {
        handle,
        done: handle.result().then((outcome) => {
          if (outcome.status !== 'succeeded') throw new Error(`deploy ${i} ended ${outcome.status}: ${outcome.detail}`);
        }),
      };
    });

    workerSample = await sampler?.stop();
    await noteWorkerRss(`after the ${n} deploys (last result)`);
    if (workerProcess) {
      await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
      await noteWorkerRss(`${IDLE_SETTLE_MS / 1000} s later`);
    }
    noteMemory(`after ${n} deploys`);
    const deploysPerSecond = n / (deployRun.resources.wallMs / 1000);
    const ceilingPerSecond = n / (ceilingRun.resources.wallMs / 1000);
    console.log();
    printTable(
      [`${n} at once`, 'wall ms', 'per s', 'start p50 ms', 'start p95', 'end-to-end p50 ms', 'p95', 'max', 'in flight mean', 'peak'],
      [
        throughputRow('fraisier deploys', deployRun),
        throughputRow(`ceiling (${activitiesPerDeploy} no-op activities)`, ceilingRun),
      ],
    );
    console.log(`  deploys/s ${deploysPerSecond.toFixed(1)}, ceiling/s ${ceilingPerSecond.toFixed(1)}, ratio ${((deploysPerSecond / ceilingPerSecond) * 100).toFixed(0)}% (goal >= 50%)`);
    console.log('  (wall: from the first start to the last result; start: the start call; end-to-end: start call to result, each workflow)');
    console.log();
    const used = mergeRows(resourceRows(deployRun.resources), resourceRows(ceilingRun.resources)).map((row) =>
      workerProcess && (row[0] ?? '').startsWith('records database') ? [row[0] ?? '', '- (in the worker process)', row[2] ?? ''] : row,
    );
    if (workerProcess) {
      used[0] = ['bench process CPU (client; the ceiling\'s worker for the ceiling)', used[0]?.[1] ?? '', used[0]?.[2] ?? ''];
      used.splice(1, 0, ['worker process CPU (/proc/<pid>/stat)', cpuPercent(workerSample?.cpu, cores), '- (no worker process)']);
    }
    printTable(['what each run used', 'deploys', 'ceiling'], used);
    console.log();
    printTable(['memory of this process, MB', 'rss', 'heapUsed', 'external', 'arrayBuffers'], memory);
    if (workerProcess && workerSample) {
      console.log();
      workerRss.push(
        [`during the ${n} deploys: start of the run`, workerSample.rssStartMb.toFixed(0), ''],
        [`during the ${n} deploys: peak (${workerSample.samples} samples, every 150 ms)`, workerSample.rssPeakMb.toFixed(0), workerSample.hwmMb.toFixed(0)],
      );
      printTable([`worker process (pid ${workerProcess.pid}), MB`, 'VmRSS', 'VmHWM'], workerRss);
      const wrapper = workerProcess.wrapperPid !== undefined ? await procMemoryMb(workerProcess.wrapperPid) : undefined;
      console.log(
        `  worker RSS: idle ${workerRss[1]?.[1] ?? '?'} MB, peak ${workerSample.rssPeakMb.toFixed(0)} MB (VmHWM ${workerSample.hwmMb.toFixed(0)} MB) with ${n} deploys in flight (goal <= 300 MB); the worker's process alone (node + tsx's loader, no webpack: prebuilt bundle), maxCachedWorkflows ${tuning.maxCachedWorkflows}; worker CPU ${cpuPercent(workerSample.cpu, cores)} during the run`,
      );
      console.log('  (VmHWM is the kernel\'s peak since start, updated lazily: it may trail the sampled peak by a few MB; the idle RSS right after start-up still holds start-up garbage, see "before the deploys")');
      console.log(`  (not counted: the tsx cli that started it, pid ${workerProcess.wrapperPid ?? '?'}, ${wrapper ? `${wrapper.rssMb.toFixed(0)} MB` : '?'}; the ceiling ran in this process)`);
    } else console.log(
      `  worker RSS peak with ${n} deploys in flight: ${deployRun.resources.rssPeakMb.toFixed(0)} MB (goal <= 300 MB), ${(deployRun.resources.rssPeakMb - deployRun.resources.rssStartMb).toFixed(0)} MB above the RSS before the run; RSS is the whole bench process: worker, its workflow thread, the bench's own Temporal client, ${env.opts.db.includes('pglite') ? 'PGlite (in this process)' : 'the pg pool'}, what bundling left, the bench itself`,
    );

    // History events per deploy, from finished deploys (and the ceiling's, for comparison).
    const sample = (handles: WorkflowHandle[]): WorkflowHandle[] =>
      Array.from({ length: Math.min(HISTORY_SAMPLE, handles.length) }, (_, k) => handles[Math.floor((k * handles.length) / Math.min(HISTORY_SAMPLE, handles.length))]).filter(
        (h): h is WorkflowHandle => h !== undefined,
      );
    const eventCounts = async (handles: WorkflowHandle[]): Promise<number[]> =>
      Promise.all(sample(handles).map(async (h) => (await h.fetchHistory()).events?.length ?? 0));
    const deployEvents = await eventCounts(deployRun.handles);
    const ceilingEvents = await eventCounts(ceilingRun.handles);
    const evRow = (label: string, values: number[]): string[] => {
      const s = stats(values);
      return [label, String(values.length), String(s.min), String(s.median), String(s.max)];
    };
    console.log();
    printTable(['history events', 'workflows read', 'min', 'median', 'max'], [
      evRow('deploy (no-op provider)', deployEvents),
      evRow('ceiling', ceilingEvents),
      evRow('deploy (recorded, Docker Compose)', [recorded.events.length]),
    ]);
    console.log(`  history events per deploy: ${percentile(deployEvents, 100)} at most (goal <= 60)`);

    if (opts.scaleCleanupRecords > 0) {
      if (workerProcess) {
        // The cleanup counts the no-op provider's calls in this process: its worker runs here.
        await workerProcess.stop();
        await startInlineWorker();
        console.log('  (cleanup below: the worker process stopped, its worker now in this process)');
      }
      await benchScaleCleanup(env, client, queue, db, serverPid, cores, () => counters.stops - markCleanedDone, (h) => closers.push(h));
    }
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        console.error(`scale: closing failed: ${(err as Error).message}`);
      }
    }
  }
}

interface ConcurrentRun {
  handles: WorkflowHandle[];
  startMs: number[];
  endToEndMs: number[];
  inFlight: number[];
  resources: RunResources;
}

/** Starts `n` workflows at once and waits for every result; measures the whole (see meters.ts). */
async function concurrentRun(
  n: number,
  db: DbMeter,
  serverPid: number | undefined,
  cores: number,
  start: (i: number) => Promise<{ handle: WorkflowHandle; done: Promise<void> }>,
): Promise<ConcurrentRun> {
  let started = 0;
  let done = 0;
  const startMs: number[] = [];
  const endToEndMs: number[] = [];
  const { result: handles, resources } = await measured({ serverPid, db, cores, gauge: () => started - done }, () =>
    Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t0 = now();
        const { handle, done: finished } = await start(i);
        startMs.push(now() - t0);
        started += 1;
        await finished;
        done += 1;
        endToEndMs.push(now() - t0);
        return handle;
      }),
    ),
  );
  return { handles, startMs, endToEndMs, inFlight: resources.gaugeSamples, resources };
}

function throughputRow(label: string, r: ConcurrentRun): string[] {
  const s = stats(r.startMs);
  const e = stats(r.endToEndMs);
  return [
    label,
    ms(r.resources.wallMs),
    perSecond(r.handles.length, r.resources.wallMs),
    ms(s.median),
    ms(s.p95),
    ms(e.median),
    ms(e.p95),
    ms(e.max),
    mean(r.inFlight).toFixed(0),
    String(Math.max(0, ...r.inFlight)),
  ];
}

function mergeRows(a: string[][], b: string[][]): string[][] {
  return a.map((row, i) => [row[0] ?? '', row[1] ?? '', b[i]?.[1] ?? '']);
}

/** One run of a continue-as-new chain, read back from its history. */
interface RunHistory {
  events: number;
  startedAt: number;
  endedAt: number;
  /** cleanupTarget children: initiated to closed, ms since the epoch. */
  children: Array<{ from: number; to: number }>;
  next: string | undefined;
}

async function readRun(handle: WorkflowHandle): Promise<RunHistory> {
  const events = (await handle.fetchHistory()).events ?? [];
  const initiated = new Map<string, number>();
  const out: RunHistory = { events: events.length, startedAt: Number.NaN, endedAt: Number.NaN, children: [], next: undefined };
  for (const e of events) {
    const at = tsMs(e.eventTime);
    if (e.workflowExecutionStartedEventAttributes) out.startedAt = at;
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) initiated.set(String(num(e.eventId)), at);
    const closedBy =
      e.childWorkflowExecutionCompletedEventAttributes?.initiatedEventId ??
      e.childWorkflowExecutionFailedEventAttributes?.initiatedEventId ??
      e.childWorkflowExecutionTimedOutEventAttributes?.initiatedEventId ??
      e.childWorkflowExecutionTerminatedEventAttributes?.initiatedEventId ??
      e.startChildWorkflowExecutionFailedEventAttributes?.initiatedEventId;
    if (closedBy !== undefined && closedBy !== null) {
      const from = initiated.get(String(num(closedBy)));
      if (from !== undefined) out.children.push({ from, to: at });
    }
    const continued = e.workflowExecutionContinuedAsNewEventAttributes;
    if (continued || e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) out.endedAt = at;
    if (continued?.newExecutionRunId) out.next = continued.newExecutionRunId;
  }
  return out;
}

/** Cleanup of many expired ephemeral records of the no-op provider: wall time, chain length, history per run, concurrency used. */
async function benchScaleCleanup(
  env: Env,
  client: Client,
  queue: string,
  db: DbMeter,
  serverPid: number | undefined,
  cores: number,
  childrenInFlight: () => number,
  onClose: (close: () => Promise<unknown>) => void,
): Promise<void> {
  const { opts } = env;
  const k = opts.scaleCleanupRecords;
  const concurrency = opts.scaleCleanupConcurrency;
  const itemsPerRun = opts.scaleCleanupItemsPerRun;
  console.log();
  console.log(`  cleanup of ${k} expired ephemeral records (one target each, no-op provider), concurrency ${concurrency}, itemsPerRun ${itemsPerRun}`);

  // Seeded through the records API, as the cleanup phase does, by a few writers at once.
  const fraise = `sweep${process.pid}`;
  const startedAt = Date.now() - 2 * 3_600_000;
  const t0Seed = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_WRITERS }, async () => {
      for (let i = next++; i < k; i = next++) {
        await seedExpiredDeploy(env.workerRecords, `bench-scale-seed-${process.pid}-${i}`, i, noopTarget(fraise, `pr-${i}`), new Date(startedAt + i), new Date(startedAt + 1000 + i));
      }
    }),
  );
  const seedMs = now() - t0Seed;

  const workflowId = `bench-scale-cleanup-${process.pid}`;
  let finished = false;
  let handle: WorkflowHandleWithFirstExecutionRunId<typeof cleanup> | undefined;
  onClose(async () => {
    if (!finished && handle) await handle.terminate('scale bench ended first').catch(() => undefined);
  });
  const { result: summary, resources } = await measured({ serverPid, db, cores, gauge: childrenInFlight }, async () => {
    handle = await client.workflow.start(cleanup, {
      workflowId,
      taskQueue: queue,
      args: [{ thresholdSeconds: 3600, concurrency, itemsPerRun }],
      workflowExecutionTimeout: '2 hours',
    });
    return within(scalePhaseBoundMs(opts.phaseTimeoutMs), 'cleanup workflow', handle.result());
  });
  finished = true;
  if (!handle) throw new Error('cleanup did not start');

  // The continue-as-new chain, run by run.
  const runs: RunHistory[] = [];
  for (let runId: string | undefined = handle.firstExecutionRunId; runId !== undefined; ) {
    const run = await readRun(client.workflow.getHandle(workflowId, runId));
    runs.push(run);
    runId = run.next;
  }
  const rows = await env.workerRecords.history({ fraise }, k + 10);
  const marked = rows.filter((r) => r.cleanedAt !== null).length;

  const childMs = runs.flatMap((r) => r.children.map((c) => c.to - c.from));
  const childBusy = childMs.reduce((a, b) => a + b, 0);
  const firstStart = runs[0]?.startedAt ?? Number.NaN;
  const lastEnd = runs.at(-1)?.endedAt ?? Number.NaN;
  const cleanWindows = runs.reduce((sum, r) => {
    if (r.children.length === 0) return sum;
    return sum + Math.max(...r.children.map((c) => c.to)) - Math.min(...r.children.map((c) => c.from));
  }, 0);
  const chainMs = lastEnd - firstStart;
  const perRun = stats(runs.map((r) => r.events));
  const child = stats(childMs);
  printTable(
    ['records', 'cleaned', 'skipped', 'failed', 'marked', 'seed ms', 'cleanup wall ms', 'records/s', 'runs', 'events/run p50', 'max', 'child p50 ms', 'p95'],
    [
      [
        String(k),
        String(summary.cleaned.length),
        String(summary.skipped.length),
        String(summary.failed.length),
        String(marked),
        ms(seedMs),
        ms(resources.wallMs),
        perSecond(summary.cleaned.length, resources.wallMs),
        String(runs.length),
        String(perRun.median),
        String(perRun.max),
        ms(child.median),
        ms(child.p95),
      ],
    ],
  );
  if (summary.failed.length) console.log(`  first failure: ${summary.failed[0]}`);
  const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
  console.log();
  printTable(
    [`concurrency used (limit ${concurrency})`, 'busy fraction'],
    [
      ['children open (history: initiated to closed) / limit, over the whole chain', pct(childBusy / (concurrency * chainMs))],
      ['  the same, within each run\'s cleaning (first child started to last closed)', pct(childBusy / (concurrency * cleanWindows))],
      [`children in their activities, sampled every 50 ms (mean of ${resources.gaugeSamples.length}) / limit`, pct(mean(resources.gaugeSamples) / concurrency)],
    ],
  );
  console.log(`  (the chain: ${ms(chainMs)} ms over ${runs.length} runs, of which cleaning ${ms(cleanWindows)} ms; the rest is each run's reconcile + findExpired and the continue-as-new hand-over)`);
  console.log();
  printTable(['what cleanup used', ''], resourceRows(resources));
}

/** The scale phase's worker process (scale/workerMain.ts under tsx's cli, in a process group of its own). */
interface WorkerProcess {
  /** The worker's own process (tsx's cli runs it in a child of its own). */
  pid: number;
  /** tsx's cli, which started it. */
  wrapperPid: number | undefined;
  /** SIGTERM to its group, SIGKILL after 15 s; idempotent. */
  stop(): Promise<void>;
}

async function spawnWorkerProcess(vars: Record<string, string>): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, [TSX_CLI, WORKER_MAIN], { env: { ...process.env, ...vars }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal('SIGTERM');
      const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 15_000))]);
      if (killed) {
        signal('SIGKILL');
        await exited;
      }
    })());
  const end = now() + 120_000;
  let pid: number | undefined;
  while (pid === undefined) {
    const ready = /\[bench-worker\] ready pid (\d+)/.exec(out);
    if (ready) pid = Number(ready[1]);
    else if (child.exitCode !== null || child.signalCode !== null || now() > end) {
      await stop();
      throw new Error(`the scale worker process did not start: ${out.trim().slice(-2000) || '(no output)'}`);
    } else await new Promise((r) => setTimeout(r, 100));
  }
  return { pid, wrapperPid: child.pid, stop };
}
