/**
 * fraisier benchmark: prints figures, asserts nothing. `npm run bench [-- --deploys 10 --records 2000 --db both]`.
 * Starts what it needs (Temporal dev server, dockerd, test images, PGlite / PostgreSQL, an in-process worker)
 * and stops and removes all of it at the end, even after an error. See test/bench/README.md.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { Target } from '../../domain/target';
import { CliError, EXIT } from '../../client/exitCodes';
import { lockHolder } from '../../client/lock';
import { loadConfig } from '../../config/load';
import { resolveTarget } from '../../config/resolve';
import { openRecords } from '../../db/connect';
import { startEmbeddedDatabase } from '../../db/embedded';
import type { Records } from '../../db/types';
import { freePort, startDevServer, type DevServer } from '../../workers/devServer';
import { temporalSettings } from '../../config/temporal';
import { createFraisierWorker, WORKFLOWS_PATH } from '../../workers/worker';
import { lockWorkflowId } from '../../domain/ids';
import { operationSearchAttributes } from '../../workflows/searchAttributes';
import type { CleanupSummary, DeployInput, OperationOutcome } from '../../domain/operations';
import { buildAppImage, removeImages } from '../support/appImage';
import { startDeployUnderLock } from '../support/deploys';
import { ensureDockerd } from '../support/dockerd';
import { startPostgresCluster } from '../support/postgres';

const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------------------
// Options: `--name value`, `--name=value`, or BENCH_NAME in the environment.

type DbKind = 'pglite' | 'postgres';
const PHASES = ['deploy', 'lock', 'records', 'cleanup'] as const;
type Phase = (typeof PHASES)[number];

interface Options {
  deploys: number;
  racers: number;
  lockRounds: number;
  records: number;
  writers: number;
  db: DbKind[];
  cleanupTargets: number;
  phases: Phase[];
  phaseTimeoutMs: number;
}

function usage(): string {
  return [
    'usage: npm run bench -- [options]   (each also as BENCH_<NAME> in the environment, e.g. BENCH_DEPLOYS=10)',
    '  --deploys N          sequential deploys, alternating v1/v2 (default 10)',
    '  --racers N           simultaneous startUnderLock calls per lock round (default 20)',
    '  --lock-rounds N      lock contention rounds (default 3)',
    '  --records N          recordStart+recordResult pairs per mode and database (default 1000)',
    '  --writers N          concurrent writers in the concurrent mode (default 4)',
    '  --db pglite|postgres|both   databases for the records figures (default both); the worker uses PGlite when listed',
    '  --cleanup-targets N  expired ephemeral targets to clean (default 20; 0 skips)',
    '  --phases LIST        comma-separated subset of deploy,lock,records,cleanup (default all)',
    '  --phase-timeout S    bound on each phase, seconds (default 300)',
  ].join('\n');
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      console.log(usage());
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"\n${usage()}`);
    const eq = arg.indexOf('=');
    if (eq > 0) raw.set(arg.slice(2, eq), arg.slice(eq + 1));
    else {
      const value = argv[i + 1];
      if (value === undefined) throw new Error(`${arg} needs a value\n${usage()}`);
      raw.set(arg.slice(2), value);
      i++;
    }
  }
  const known = new Set(['deploys', 'racers', 'lock-rounds', 'records', 'writers', 'db', 'cleanup-targets', 'phases', 'phase-timeout']);
  for (const key of raw.keys()) if (!known.has(key)) throw new Error(`unknown option --${key}\n${usage()}`);
  const get = (name: string): string | undefined => raw.get(name) ?? env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const int = (name: string, def: number, min: number, max: number): number => {
    const text = get(name);
    if (text === undefined || text === '') return def;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got "${text}"`);
    return n;
  };
  const dbText = get('db') ?? 'both';
  const db: DbKind[] = dbText === 'both' ? ['pglite', 'postgres'] : dbText === 'pglite' || dbText === 'postgres' ? [dbText] : [];
  if (db.length === 0) throw new Error(`--db must be pglite, postgres or both, got "${dbText}"`);
  const phaseText = get('phases') ?? PHASES.join(',');
  const phases = phaseText.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of phases) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--phases: unknown phase "${p}" (known: ${PHASES.join(', ')})`);
  return {
    deploys: int('deploys', 10, 1, 500),
    racers: int('racers', 20, 2, 200),
    lockRounds: int('lock-rounds', 3, 1, 50),
    records: int('records', 1000, 1, 1_000_000),
    writers: int('writers', 4, 1, 32),
    db,
    cleanupTargets: int('cleanup-targets', 20, 0, 2000),
    phases: phases as Phase[],
    phaseTimeoutMs: int('phase-timeout', 300, 10, 3600) * 1000,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers: timing, statistics, tables.

const now = (): number => performance.now();

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile of a non-empty list. */
function percentile(values: readonly number[], p: number): number {
  const s = sorted(values);
  if (s.length === 0) return Number.NaN;
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] ?? Number.NaN;
}

function stats(values: readonly number[]): { min: number; median: number; p95: number; max: number } {
  return { min: percentile(values, 0), median: percentile(values, 50), p95: percentile(values, 95), max: percentile(values, 100) };
}

function ms(n: number): string {
  return Number.isFinite(n) ? n.toFixed(0) : '-';
}

function printTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function heading(title: string): void {
  console.log(`\n== ${title}`);
}

/** Rejects after `limitMs` (the work itself goes on; the caller's finally cleans up). */
async function within<T>(limitMs: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${limitMs / 1000}s`)), limitMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function commandOutput(file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(file, args, { timeout: 15_000 });
    return stdout.trim().split('\n')[0] ?? '';
  } catch {
    return '(unavailable)';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Workflow history: durations of activities, timers and workflow tasks from event timestamps.

type LongLike = { toNumber(): number } | number | null | undefined;
interface TimestampLike {
  seconds?: LongLike;
  nanos?: number | null;
}

function num(v: LongLike): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function tsMs(t: TimestampLike | null | undefined): number {
  return t ? num(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6 : Number.NaN;
}

interface HistoryBreakdown {
  /** WorkflowExecutionStarted to the closing event. */
  workflowMs: number;
  /** Activity type -> total scheduled-to-closed ms and how many ran. */
  activities: Map<string, { ms: number; count: number }>;
  timersMs: number;
  workflowTasksMs: number;
  /** Child workflows: initiated-to-closed ms each. */
  childMs: number[];
}

async function historyBreakdown(handle: WorkflowHandle): Promise<HistoryBreakdown> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const scheduled = new Map<string, { type: string; at: number }>();
  const timers = new Map<string, number>();
  const wfTasks = new Map<string, number>();
  const children = new Map<string, number>();
  const out: HistoryBreakdown = { workflowMs: Number.NaN, activities: new Map(), timersMs: 0, workflowTasksMs: 0, childMs: [] };
  let startedAt = Number.NaN;
  for (const e of events) {
    const at = tsMs(e.eventTime);
    const id = String(num(e.eventId));
    if (e.workflowExecutionStartedEventAttributes) startedAt = at;
    if (
      e.workflowExecutionCompletedEventAttributes ||
      e.workflowExecutionFailedEventAttributes ||
      e.workflowExecutionContinuedAsNewEventAttributes ||
      e.workflowExecutionTerminatedEventAttributes ||
      e.workflowExecutionTimedOutEventAttributes
    ) {
      out.workflowMs = at - startedAt;
    }
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) scheduled.set(id, { type: sched.activityType?.name ?? '?', at });
    const closedBy =
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId;
    if (closedBy !== undefined && closedBy !== null) {
      const s = scheduled.get(String(num(closedBy)));
      if (s) {
        const entry = out.activities.get(s.type) ?? { ms: 0, count: 0 };
        entry.ms += at - s.at;
        entry.count += 1;
        out.activities.set(s.type, entry);
      }
    }
    if (e.timerStartedEventAttributes) timers.set(id, at);
    const fired = e.timerFiredEventAttributes?.startedEventId;
    if (fired !== undefined && fired !== null) out.timersMs += at - (timers.get(String(num(fired))) ?? at);
    if (e.workflowTaskScheduledEventAttributes) wfTasks.set(id, at);
    const wftDone = e.workflowTaskCompletedEventAttributes?.scheduledEventId;
    if (wftDone !== undefined && wftDone !== null) out.workflowTasksMs += at - (wfTasks.get(String(num(wftDone))) ?? at);
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) children.set(id, at);
    const childDone =
      e.childWorkflowExecutionCompletedEventAttributes?.initiatedEventId ??
      e.childWorkflowExecutionFailedEventAttributes?.initiatedEventId;
    if (childDone !== undefined && childDone !== null) {
      const from = children.get(String(num(childDone)));
      if (from !== undefined) out.childMs.push(at - from);
    }
  }
  return out;
}

function activityMs(b: HistoryBreakdown, ...types: string[]): number {
  return types.reduce((sum, t) => sum + (b.activities.get(t)?.ms ?? 0), 0);
}

function activityCount(b: HistoryBreakdown, type: string): number {
  return b.activities.get(type)?.count ?? 0;
}

// ---------------------------------------------------------------------------------------------------------
// The environment the phases share.

interface Env {
  opts: Options;
  dir: string;
  image: string;
  project: string;
  taskQueue: string;
  configFile: string;
  client: Client;
  /** The records the worker writes to (seeded by the cleanup phase). */
  workerRecords: Records;
  dbUrls: Map<DbKind, string>;
}

const RECORD_TARGET: Target = {
  fraise: 'bench',
  environment: 'records',
  provider: 'docker_compose',
  config: { compose_file: path.join(os.tmpdir(), 'docker-compose.yml'), service_name: 'web' },
  retain: 5,
};

// ---------------------------------------------------------------------------------------------------------
// 1. Deploy latency.

async function benchDeploys(env: Env): Promise<void> {
  const { opts, client, taskQueue } = env;
  heading(`1. deploy latency: ${opts.deploys} sequential deploys (v1/v2 alternating), Temporal + worker + Compose + HTTP health check`);
  const config = await loadConfig(env.configFile);
  const target = resolveTarget(config, 'shop', 'staging');
  const rows: string[][] = [];
  const wall: number[] = [];
  const breakdowns: HistoryBreakdown[] = [];
  for (let i = 0; i < opts.deploys; i++) {
    const version = i % 2 === 0 ? 'v1' : 'v2';
    const requestedBy = `bench-${i}`;
    const input: DeployInput = { target, version, requestedBy, ttlSeconds: null, readyTimeoutSeconds: 60 };
    const t0 = now();
    const handle = await client.workflow.start('deploy', {
      workflowId: lockWorkflowId(target),
      taskQueue,
      args: [input],
      memo: { operation: 'deploy', version, requestedBy },
      typedSearchAttributes: operationSearchAttributes(target, 'deploy', version),
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowExecutionTimeout: '5 minutes',
    });
    const outcome = (await handle.result()) as OperationOutcome;
    const elapsed = now() - t0;
    if (outcome.status !== 'succeeded' || outcome.version !== version) {
      throw new Error(`deploy ${i} of ${version} ended ${outcome.status}: ${outcome.detail}`);
    }
    const b = await historyBreakdown(handle);
    wall.push(elapsed);
    breakdowns.push(b);
    rows.push([
      `${i + 1}${i === 0 ? ' (cold)' : ''}`,
      version,
      ms(elapsed),
      ms(b.workflowMs),
      ms(activityMs(b, 'deployVersion')),
      `${ms(activityMs(b, 'probeReadiness'))} (${activityCount(b, 'probeReadiness')})`,
      `${ms(activityMs(b, 'probeHealth'))} (${activityCount(b, 'probeHealth')})`,
      ms(b.timersMs),
      ms(activityMs(b, 'recordStart', 'recordRelease', 'recordResult')),
      ms(activityMs(b, 'validateTarget', 'preflight')),
      ms(b.workflowTasksMs),
    ]);
  }
  printTable(
    ['#', 'version', 'wall ms', 'workflow', 'deployVersion', 'readiness (n)', 'health (n)', 'timers', 'records', 'validate+preflight', 'wf tasks'],
    rows,
  );
  console.log('  (activity columns: scheduled-to-completed from the history, all attempts; timers: durable sleeps between probes)');

  const summary = (label: string, values: number[]): string[] => {
    const s = stats(values);
    return [label, ms(s.min), ms(s.median), ms(s.p95), ms(s.max)];
  };
  const statRows = [
    summary('end to end (client wall)', wall),
    summary('workflow (history)', breakdowns.map((b) => b.workflowMs)),
    summary('deployVersion (docker compose up)', breakdowns.map((b) => activityMs(b, 'deployVersion'))),
    summary('readiness + health probes', breakdowns.map((b) => activityMs(b, 'probeReadiness', 'probeHealth'))),
    summary('timers (sleeps)', breakdowns.map((b) => b.timersMs)),
    summary('validate + preflight', breakdowns.map((b) => activityMs(b, 'validateTarget', 'preflight'))),
    summary('records activities', breakdowns.map((b) => activityMs(b, 'recordStart', 'recordRelease', 'recordResult'))),
  ];
  if (wall.length > 1) statRows.push(summary('end to end, warm only (2..N)', wall.slice(1)));
  console.log();
  printTable(['ms', 'min', 'median', 'p95', 'max'], statRows);
  const docker = breakdowns.map((b) => activityMs(b, 'deployVersion', 'probeReadiness', 'probeHealth', 'validateTarget', 'preflight'));
  const share = docker.reduce((a, b) => a + b, 0) / wall.reduce((a, b) => a + b, 0);
  console.log(`  docker/provider activities (validate, preflight, deployVersion, probes) = ${(share * 100).toFixed(0)}% of the end-to-end time`);

  // Reference: what one CLI call costs here, since every provider step runs a few of them.
  const composeFile = path.join(env.dir, 'docker-compose.yml');
  const refs: Array<[string, string, string[]]> = [
    ['docker-compose ps -q web', 'docker-compose', ['-f', composeFile, '-p', env.project, 'ps', '-q', 'web']],
    ['docker ps -q', 'docker', ['ps', '-q']],
  ];
  const refRows: string[][] = [];
  for (const [label, file, args] of refs) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = now();
      await run(file, args, { timeout: 30_000 });
      times.push(now() - t0);
    }
    refRows.push([label, ms(percentile(times, 0)), ms(percentile(times, 50)), ms(percentile(times, 100))]);
  }
  console.log();
  printTable(['one command (3 runs)', 'min ms', 'median ms', 'max ms'], refRows);
}

// ---------------------------------------------------------------------------------------------------------
// 2. Lock contention.

async function benchLock(env: Env): Promise<void> {
  const { opts, client } = env;
  const heldQueue = `${env.taskQueue}-held`;
  heading(`2. lock contention: ${opts.racers} simultaneous startUnderLock calls on one target, queue "${heldQueue}" (no worker), ${opts.lockRounds} round(s)`);
  const config = await loadConfig(env.configFile);
  const target = resolveTarget(config, 'shop', 'staging');
  const rows: string[][] = [];
  for (let round = 1; round <= opts.lockRounds; round++) {
    const t0 = now();
    const settleTimes: Array<{ ok: boolean; at: number; locked: boolean; error?: string }> = [];
    const attempts = Array.from({ length: opts.racers }, (_, i) =>
      startDeployUnderLock(client, target, 'v1', `racer-${i}`, heldQueue).then(
        (handle) => {
          settleTimes.push({ ok: true, at: now() - t0, locked: false });
          return handle;
        },
        (err: unknown) => {
          const locked = err instanceof CliError && err.exitCode === EXIT.locked;
          settleTimes.push({ ok: false, at: now() - t0, locked, ...(locked ? {} : { error: (err as Error).message }) });
          throw err;
        },
      ),
    );
    const settled = await within(opts.phaseTimeoutMs, 'lock round', Promise.allSettled(attempts));
    const allMs = now() - t0;
    const winners = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const refusals = settleTimes.filter((s) => !s.ok);
    const lockedRefusals = refusals.filter((s) => s.locked);
    const other = refusals.filter((s) => !s.locked);
    const winnerAt = settleTimes.find((s) => s.ok)?.at ?? Number.NaN;
    const refusalTimes = refusals.map((s) => s.at);
    // What one refusal costs on its own, no contention: describe + progress query of the (unpolled) holder.
    const tHolder = now();
    await within(30_000, 'lockHolder', lockHolder(client, target));
    const holderMs = now() - tHolder;
    for (const w of winners) await w.terminate('benchmark: lock round over').catch(() => undefined);
    rows.push([
      String(round),
      `${winners.length} started / ${lockedRefusals.length} refused${other.length ? ` / ${other.length} other errors` : ''}`,
      ms(winnerAt),
      ms(percentile(refusalTimes, 0)),
      ms(percentile(refusalTimes, 50)),
      ms(percentile(refusalTimes, 100)),
      ms(allMs),
      ms(holderMs),
    ]);
    if (other.length) console.log(`  round ${round}: other error: ${other[0]?.error ?? '?'}`);
  }
  printTable(['round', 'outcome', 'winner ms', 'first refusal', 'median refusal', 'last refusal', 'all settled ms', 'lockHolder alone'], rows);
  console.log('  (a refusal describes the holder and queries its progress for at most 1 s; nothing answers the query here)');
}

// ---------------------------------------------------------------------------------------------------------
// 3. Records write rate.

async function writePairs(records: Records, prefix: string, count: number, latencies: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const key = { workflowId: `${prefix}-${i}`, runId: `run-${i}` };
    const t0 = now();
    await records.recordStart({
      ...key,
      target: RECORD_TARGET,
      operation: 'deploy',
      version: `v${i}`,
      previousVersion: null,
      requestedBy: 'bench',
      ephemeral: false,
      ttlSeconds: null,
      startedAt: new Date(),
    });
    await records.recordResult(key, { status: 'succeeded', url: null, error: null, logs: null, finishedAt: new Date() });
    latencies.push(now() - t0);
  }
}

async function benchRecords(env: Env): Promise<void> {
  const { opts } = env;
  heading(`3. records write rate: ${opts.records} recordStart+recordResult pairs per mode (sequential, then ${opts.writers} concurrent writers)`);
  const rows: string[][] = [];
  for (const kind of opts.db) {
    const url = env.dbUrls.get(kind);
    if (!url) continue;
    const records = await openRecords(url, { max: opts.writers });
    try {
      const tag = `${kind}-${process.pid}-${Date.now()}`;
      await writePairs(records, `${tag}-warmup`, Math.min(20, opts.records), []);

      const seqLat: number[] = [];
      let t0 = now();
      await within(opts.phaseTimeoutMs, `${kind} sequential writes`, writePairs(records, `${tag}-seq`, opts.records, seqLat));
      const seqMs = now() - t0;
      const s = stats(seqLat);
      rows.push([kind, 'sequential', String(opts.records), ms(seqMs), (opts.records / (seqMs / 1000)).toFixed(0), s.median.toFixed(2), s.p95.toFixed(2), s.max.toFixed(1)]);

      const conLat: number[] = [];
      const per = Math.ceil(opts.records / opts.writers);
      t0 = now();
      await within(
        opts.phaseTimeoutMs,
        `${kind} concurrent writes`,
        Promise.all(Array.from({ length: opts.writers }, (_, w) => writePairs(records, `${tag}-con${w}`, Math.min(per, opts.records - w * per), conLat))),
      );
      const conMs = now() - t0;
      const c = stats(conLat);
      rows.push([kind, `${opts.writers} writers`, String(conLat.length), ms(conMs), (conLat.length / (conMs / 1000)).toFixed(0), c.median.toFixed(2), c.p95.toFixed(2), c.max.toFixed(1)]);
    } finally {
      await records.close();
    }
  }
  printTable(['database', 'mode', 'pairs', 'total ms', 'pairs/s', 'median ms', 'p95 ms', 'max ms'], rows);
  console.log('  (latency = one recordStart + recordResult pair; pglite is served over its socket server, pg pool size = writers)');
}

// ---------------------------------------------------------------------------------------------------------
// 4. Cleanup throughput.

async function benchCleanup(env: Env): Promise<void> {
  const { opts, client, taskQueue } = env;
  const k = opts.cleanupTargets;
  heading(`4. cleanup throughput: ${k} expired ephemeral targets whose service has no container, cleanup defaults (itemsPerRun 50, concurrency 4)`);
  const t0Seed = now();
  const startedAt = Date.now() - 2 * 3_600_000;
  const fraise = `bulk${process.pid}`;
  for (let i = 0; i < k; i++) {
    const target: Target = {
      fraise,
      environment: `pr-${i}`,
      provider: 'docker_compose',
      config: { compose_file: path.join(env.dir, 'docker-compose.yml'), service_name: 'preview', project_name: `${env.project}-bulk${i}`, pull: 'never' },
      retain: 5,
    };
    const key = { workflowId: `bench-seed-${process.pid}-${i}`, runId: `seed-run-${i}` };
    await env.workerRecords.recordStart({
      ...key,
      target,
      operation: 'deploy',
      version: `p${i}`,
      previousVersion: null,
      requestedBy: 'bench-seed',
      ephemeral: true,
      ttlSeconds: 60,
      startedAt: new Date(startedAt - i * 1000),
    });
    await env.workerRecords.recordResult(key, { status: 'succeeded', url: null, error: null, logs: null, finishedAt: new Date(startedAt + 1000) });
  }
  const seedMs = now() - t0Seed;

  const t0 = now();
  const handle = await client.workflow.start('cleanup', {
    workflowId: `bench-cleanup-${process.pid}`,
    taskQueue,
    args: [{ thresholdSeconds: 3600 }],
    workflowExecutionTimeout: '30 minutes',
  });
  const summary = (await within(opts.phaseTimeoutMs, 'cleanup workflow', handle.result())) as CleanupSummary;
  const wallMs = now() - t0;
  const first = await historyBreakdown(client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
  const rows = await env.workerRecords.history({ fraise }, k + 10);
  const marked = rows.filter((r) => r.cleanedAt !== null).length;
  const child = stats(first.childMs);
  printTable(
    ['targets', 'cleaned', 'skipped', 'failed', 'records marked', 'seed ms', 'cleanup wall ms', 'targets/s', 'child median ms', 'child p95 ms', 'find-expired ms'],
    [
      [
        String(k),
        String(summary.cleaned.length),
        String(summary.skipped.length),
        String(summary.failed.length),
        String(marked),
        ms(seedMs),
        ms(wallMs),
        (summary.cleaned.length / (wallMs / 1000)).toFixed(2),
        ms(child.median),
        ms(child.p95),
        ms(activityMs(first, 'findExpired')),
      ],
    ],
  );
  if (summary.failed.length) console.log(`  first failure: ${summary.failed[0]}`);
  console.log('  (child = one cleanupTarget workflow: docker-compose stop + rm under the target lock + mark cleaned; from the first run\'s history)');
}

// ---------------------------------------------------------------------------------------------------------

async function main(opts: Options): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const needsWorker = opts.phases.includes('deploy') || opts.phases.includes('cleanup');
  const needsDocker = needsWorker;
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
    const server: DevServer = await timed('start Temporal dev server (headless)', () =>
      startDevServer({ uiPort: null, logFile: path.join(dir, 'temporal.log'), startTimeoutMs: 90_000 }),
    );
    cleanups.push({ what: 'Temporal dev server', run: () => server.stop() });
    const connection = await Connection.connect({ address: server.address });
    cleanups.push({ what: 'Temporal client', run: () => connection.close() });
    const client = new Client({ connection, namespace: server.namespace });

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
      const settings = temporalSettings({ TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace, FRAISIER_TASK_QUEUE: taskQueue });
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

    const env: Env = { opts, dir, image, project, taskQueue, configFile, client, workerRecords, dbUrls };
    const phases: Record<Phase, () => Promise<void>> = {
      deploy: () => benchDeploys(env),
      lock: () => benchLock(env),
      records: () => benchRecords(env),
      cleanup: () => (opts.cleanupTargets > 0 ? benchCleanup(env) : Promise.resolve()),
    };
    for (const phase of PHASES) {
      if (!opts.phases.includes(phase)) continue;
      const t0 = now();
      try {
        await within(opts.phaseTimeoutMs, `phase ${phase}`, phases[phase]());
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

let options: Options;
try {
  options = parseOptions(process.argv.slice(2), process.env);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
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
