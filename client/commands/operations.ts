import { randomUUID } from 'node:crypto';
import type { Target } from '../../activities/providers/contract';
import { findProvider, providerNames } from '../../activities/providers/registry';
import type { cleanup } from '../../workflows/cleanup';
import { operationSearchAttributes } from '../../workflows/searchAttributes';
import type { CleanupSummary, DeployInput, OperationOutcome, RollbackInput } from '../../workflows/types';
import { workflowUiUrl } from '../../workers/temporalConnection';
import type { DeployCliOptions, LockCliOptions, Output, RollbackCliOptions } from '../cli';
import { checkVersion, defaultRequester, durationSeconds, loadTarget } from '../context';
import { CliError, EXIT } from '../exitCodes';
import { failureDetails, followToEnd } from '../follow';
import { describeHolder, startUnderLock } from '../lock';
import { connectTemporal } from '../temporalClient';

export interface StartResult<T> {
  workflowId: string;
  runId: string;
  uiUrl: string;
  exitCode: number;
  /** The workflow's result or the outcome attached to its failure; absent with --no-wait. */
  outcome?: T;
  error?: string;
}

/** Refuses a target whose provider cannot run yet, before anything starts. */
function requireAvailable(target: Target): void {
  const entry = findProvider(target.provider);
  if (!entry) throw new CliError(`unknown provider "${target.provider}"; known: ${providerNames.join(', ')}`, EXIT.badInput);
  if (!entry.available) {
    throw new CliError(
      `${target.fraise}/${target.environment} uses provider "${target.provider}", which this version of fraisier cannot run yet (available: ${providerNames
        .filter((n) => findProvider(n)?.available)
        .join(', ')})`,
      EXIT.badInput,
    );
  }
}

async function runLocked(
  out: Output,
  operation: 'deploy' | 'rollback',
  target: Target,
  /** Null when the workflow finds the version itself (a rollback to the previous release). */
  version: string | null,
  args: [DeployInput] | [RollbackInput],
  opts: LockCliOptions,
  requestedBy: string,
): Promise<StartResult<OperationOutcome>> {
  const shownVersion = version ?? 'previous release';
  const waitLockMs = durationSeconds(opts.waitLockTimeout, '--wait-lock-timeout') * 1000;
  const temporal = await connectTemporal();
  try {
    const handle = await startUnderLock(temporal.client, {
      workflowType: operation,
      target,
      args,
      memo: { operation, version: shownVersion, requestedBy },
      searchAttributes: operationSearchAttributes(target, operation, version ?? undefined),
      taskQueue: target.taskQueue ?? temporal.settings.taskQueue,
      waitLock: Boolean(opts.waitLock),
      waitLockTimeoutMs: waitLockMs,
      onWaiting: (holder) => out.progress(`waiting for the lock: ${describeHolder(holder)}`),
    });
    const runId = handle.firstExecutionRunId;
    const uiUrl = workflowUiUrl(temporal.settings.namespace, handle.workflowId, runId);
    out.info(`${operation} of ${shownVersion} to ${target.fraise}/${target.environment} started`);
    out.info(`  workflow ${handle.workflowId} (run ${runId})`);
    out.info(`  ${uiUrl}`);
    const base = { workflowId: handle.workflowId, runId, uiUrl };
    if (!opts.wait) return { ...base, exitCode: EXIT.ok };
    try {
      const outcome = await followToEnd<OperationOutcome>(handle, (line) => out.progress(line));
      out.info(outcome.detail + (outcome.url ? ` (${outcome.url})` : ''));
      return { ...base, exitCode: EXIT.ok, outcome };
    } catch (err) {
      const failure = failureDetails<OperationOutcome>(err);
      if (!failure) throw err;
      out.info(`FAILED: ${failure.message}`);
      if (failure.details?.logs) out.info(`--- last logs ---\n${failure.details.logs.trimEnd()}\n---`);
      return { ...base, exitCode: EXIT.failed, error: failure.message, ...(failure.details ? { outcome: failure.details } : {}) };
    }
  } finally {
    await temporal.close();
  }
}

export async function runDeploy(out: Output, fraise: string, environment: string, opts: DeployCliOptions): Promise<StartResult<OperationOutcome>> {
  const version = checkVersion(opts.version, '--version');
  const ttlSeconds = opts.ttl === undefined ? null : durationSeconds(opts.ttl, '--ttl');
  const readyTimeoutSeconds = durationSeconds(opts.readyTimeout, '--ready-timeout');
  const target = await loadTarget(opts.config, fraise, environment);
  requireAvailable(target);
  const requestedBy = opts.requestedBy ?? defaultRequester();
  const input: DeployInput = { target, version, requestedBy, ttlSeconds, readyTimeoutSeconds };
  return runLocked(out, 'deploy', target, version, [input], opts, requestedBy);
}

export async function runRollback(out: Output, fraise: string, environment: string, opts: RollbackCliOptions): Promise<StartResult<OperationOutcome>> {
  const toVersion = opts.to === undefined ? null : checkVersion(opts.to, '--to');
  const readyTimeoutSeconds = durationSeconds(opts.readyTimeout, '--ready-timeout');
  const target = await loadTarget(opts.config, fraise, environment);
  requireAvailable(target);
  const requestedBy = opts.requestedBy ?? defaultRequester();
  const input: RollbackInput = { target, toVersion, requestedBy, readyTimeoutSeconds };
  return runLocked(out, 'rollback', target, toVersion, [input], opts, requestedBy);
}

export async function runCleanup(out: Output, opts: { olderThan: string; dryRun?: boolean; json?: boolean }): Promise<number> {
  const thresholdSeconds = durationSeconds(opts.olderThan, '--older-than');
  const temporal = await connectTemporal();
  try {
    const workflowId = `fraisier-cleanup-manual-${randomUUID()}`;
    const handle = await temporal.client.workflow.start<typeof cleanup>('cleanup', {
      workflowId,
      taskQueue: temporal.settings.taskQueue,
      args: [{ thresholdSeconds, dryRun: Boolean(opts.dryRun) }],
      workflowExecutionTimeout: '2 hours',
    });
    const uiUrl = workflowUiUrl(temporal.settings.namespace, workflowId, handle.firstExecutionRunId);
    out.info(`cleanup started: workflow ${workflowId}\n  ${uiUrl}`);
    const summary = await followToEnd<CleanupSummary>(handle, (line) => out.progress(line));
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
