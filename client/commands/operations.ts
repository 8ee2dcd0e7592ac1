import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { CleanupSummary, OperationOutcome } from '../../domain/operations';
import type { Target } from '../../domain/target';
import { cleanup } from '../../workflows/cleanup';
import { deploy } from '../../workflows/deploy';
import { power } from '../../workflows/power';
import { rollback } from '../../workflows/rollback';
import { operationSearchAttributes } from '../../workflows/searchAttributes';
import type { DeployCliOptions, LockCliOptions, Output, RollbackCliOptions } from '../cli';
import { checkVersion, defaultRequester, durationSeconds, loadTarget, requireAvailable } from '../context';
import { CliError, EXIT } from '../exitCodes';
import { failureDetails, followToEnd } from '../follow';
import { describeHolder, startUnderLock, type LockedStartOptions } from '../lock';
import { connectTemporal } from '../temporalClient';
import { workflowUiUrl } from '../uiLinks';

export interface StartResult<T> {
  workflowId: string;
  runId: string;
  uiUrl: string;
  exitCode: number;
  /** The workflow's result or the outcome attached to its failure; absent with --no-wait. */
  outcome?: T;
  error?: string;
}

/** Workflow failures that come before any change on the target: exit code 2, like bad input caught by the CLI. */
const REFUSED_BEFORE_CHANGE = new Set(['PreflightFailed', 'InvalidTarget']);

type OperationHandle =
  | WorkflowHandleWithFirstExecutionRunId<typeof deploy>
  | WorkflowHandleWithFirstExecutionRunId<typeof rollback>
  | WorkflowHandleWithFirstExecutionRunId<typeof power>;

async function runLocked(
  out: Output,
  operation: OperationOutcome['operation'],
  target: Target,
  /** Null when the workflow finds the version itself (a rollback to the previous release, a start). */
  version: string | null,
  start: (client: Client, options: LockedStartOptions) => Promise<OperationHandle>,
  opts: LockCliOptions,
  requestedBy: string,
): Promise<StartResult<OperationOutcome>> {
  const shownVersion = version ?? (operation === 'rollback' ? 'previous release' : 'recorded release');
  const waitLockMs = durationSeconds(opts.waitLockTimeout, '--wait-lock-timeout') * 1000;
  const temporal = await connectTemporal();
  try {
    const handle = await startUnderLock(temporal.client, {
      start: (options) => start(temporal.client, options),
      target,
      memo: { operation, version: shownVersion, requestedBy },
      searchAttributes: operationSearchAttributes(target, operation, version ?? undefined),
      taskQueue: target.taskQueue ?? temporal.settings.taskQueue,
      waitLock: Boolean(opts.waitLock),
      waitLockTimeoutMs: waitLockMs,
      onWaiting: (holder) => out.progress(`waiting for the lock: ${describeHolder(holder)}`),
    });
    const runId = handle.firstExecutionRunId;
    const uiUrl = workflowUiUrl(temporal.settings.namespace, handle.workflowId, runId);
    const what = operation === 'deploy' || operation === 'rollback' ? `${operation} of ${shownVersion} to` : operation;
    out.info(`${what} ${target.fraise}/${target.environment} started`);
    out.info(`  workflow ${handle.workflowId} (run ${runId})`);
    out.info(`  ${uiUrl}`);
    const base = { workflowId: handle.workflowId, runId, uiUrl };
    if (!opts.wait) return { ...base, exitCode: EXIT.ok };
    try {
      const outcome: OperationOutcome = await followToEnd<typeof deploy | typeof rollback | typeof power>(handle, (line) => out.progress(line));
      out.info(outcome.detail + (outcome.url ? ` (${outcome.url})` : ''));
      return { ...base, exitCode: EXIT.ok, outcome };
    } catch (err) {
      const failure = failureDetails<OperationOutcome>(err);
      if (!failure) throw err;
      out.info(`FAILED: ${failure.message}`);
      if (failure.details?.logs) out.info(`--- last logs ---\n${failure.details.logs.trimEnd()}\n---`);
      // Refused before anything changed (the worker found the target or its credentials wrong): bad input.
      const exitCode = failure.type && REFUSED_BEFORE_CHANGE.has(failure.type) ? EXIT.badInput : EXIT.failed;
      return { ...base, exitCode, error: failure.message, ...(failure.details ? { outcome: failure.details } : {}) };
    }
  } finally {
    await temporal.close();
  }
}

export async function runDeploy(out: Output, fraise: string, environment: string, opts: DeployCliOptions): Promise<StartResult<OperationOutcome>> {
  checkVersion(opts.version, '--version');
  const ttlSeconds = opts.ttl === undefined ? null : durationSeconds(opts.ttl, '--ttl');
  const ready = readyTimeout(opts);
  const target = await loadTarget(opts.config, fraise, environment);
  requireAvailable(target);
  const version = checkVersion(opts.version, '--version', target);
  const requestedBy = opts.requestedBy ?? defaultRequester();
  const input = { target, version, requestedBy, ttlSeconds, ...ready };
  return runLocked(out, 'deploy', target, version, (client, o) => client.workflow.start(deploy, { ...o, args: [input] }), opts, requestedBy);
}

/** --ready-timeout when given; else the workflow takes the target's own bound. */
function readyTimeout(opts: LockCliOptions): { readyTimeoutSeconds?: number } {
  return opts.readyTimeout === undefined ? {} : { readyTimeoutSeconds: durationSeconds(opts.readyTimeout, '--ready-timeout') };
}

export async function runRollback(out: Output, fraise: string, environment: string, opts: RollbackCliOptions): Promise<StartResult<OperationOutcome>> {
  const toVersion = opts.to === undefined ? null : checkVersion(opts.to, '--to');
  const ready = readyTimeout(opts);
  const target = await loadTarget(opts.config, fraise, environment);
  requireAvailable(target);
  const requestedBy = opts.requestedBy ?? defaultRequester();
  const input = { target, toVersion, requestedBy, ...ready };
  return runLocked(out, 'rollback', target, toVersion, (client, o) => client.workflow.start(rollback, { ...o, args: [input] }), opts, requestedBy);
}

/** `fraisier stop` / `fraisier start`: under the target's lock, like a deploy. */
export async function runPower(
  out: Output,
  action: 'start' | 'stop',
  fraise: string,
  environment: string,
  opts: LockCliOptions,
): Promise<StartResult<OperationOutcome>> {
  const ready = readyTimeout(opts);
  const target = await loadTarget(opts.config, fraise, environment);
  requireAvailable(target);
  const requestedBy = opts.requestedBy ?? defaultRequester();
  const input = { target, action, requestedBy, ...ready };
  return runLocked(out, action, target, null, (client, o) => client.workflow.start(power, { ...o, args: [input] }), opts, requestedBy);
}

export async function runCleanup(out: Output, opts: { olderThan: string; dryRun?: boolean; json?: boolean }): Promise<number> {
  const thresholdSeconds = durationSeconds(opts.olderThan, '--older-than');
  const temporal = await connectTemporal();
  try {
    const workflowId = `fraisier-cleanup-manual-${randomUUID()}`;
    const handle = await temporal.client.workflow.start(cleanup, {
      workflowId,
      taskQueue: temporal.settings.taskQueue,
      args: [{ thresholdSeconds, dryRun: Boolean(opts.dryRun) }],
      workflowExecutionTimeout: '2 hours',
    });
    const uiUrl = workflowUiUrl(temporal.settings.namespace, workflowId, handle.firstExecutionRunId);
    out.info(`cleanup started: workflow ${workflowId}\n  ${uiUrl}`);
    const summary: CleanupSummary = await followToEnd(handle, (line) => out.progress(line));
    if (out.json) out.data({ workflowId, uiUrl, ...summary });
    const list = (title: string, items: string[]) => {
      out.info(`${title}: ${items.length}`);
      for (const item of items) out.info(`  ${item}`);
    };
    if (opts.dryRun) list('would clean', summary.wouldClean);
    else {
      list('cleaned', summary.cleaned);
      list('superseded (records marked only)', summary.superseded);
      list('skipped (target busy, next run retries)', summary.skipped);
      list('failed', summary.failed);
      list('records reconciled with Temporal (terminated or timed out)', summary.reconciled ?? []);
    }
    return summary.failed.length > 0 ? EXIT.failed : EXIT.ok;
  } catch (err) {
    const failure = failureDetails(err);
    if (!failure) throw err;
    throw new CliError(`cleanup failed: ${failure.message}`, EXIT.failed);
  } finally {
    await temporal.close();
  }
}
