import { ActivityFailure, ApplicationFailure, isCancellation, patched } from '@temporalio/workflow';
import type { DeployInput, OperationOutcome, ReleaseSummary } from '../domain/operations';
import type { DeployStarted, PreflightReport } from '../domain/release';
import { DEFAULT_BOUNDS, describeTarget, type Target } from '../domain/target';
import { changeActivities, probeActivities, recordActivities } from './activities';
import { recordingCancellation } from './cancellation';
import { fetchFailureLogs, messageOf } from './failure';
import { CONTRACT_V2, FEWER_ACTIVITIES } from './patches';
import { Progress } from './progress';
import { recordSuccess } from './success';
import { waitUntilHealthy, waitUntilReady } from './waiting';

const DEPLOY_STEPS = ['validate', 'preflight', 'record-start', 'deploy', 'wait-ready', 'health-check', 'record-result'];

/** The ready timeout of runs recorded before it came from the target's bounds. */
const LEGACY_READY_TIMEOUT_SECONDS = 300;

/** Puts the release in place, waits for it to be up and healthy; a failed check rolls back when it can. */
export async function deploy(input: DeployInput): Promise<OperationOutcome> {
  const { target, version } = input;
  const progress = new Progress('deploy', DEPLOY_STEPS);
  const readyTimeout = input.readyTimeoutSeconds ?? (target.bounds ?? DEFAULT_BOUNDS).readySeconds;
  const change = changeActivities(target);

  const preflight = await checkTarget(target, version, progress);
  if (!preflight.ok) {
    const failed = preflight.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    progress.fail('preflight', failed.join('; '));
    throw ApplicationFailure.nonRetryable(`pre-flight failed for ${describeTarget(target)}: ${failed.join('; ')}`, 'PreflightFailed');
  }

  const before = await progress.step('record-start', () =>
    recordActivities.recordStart({
      target,
      operation: 'deploy',
      version,
      previousVersion: null,
      requestedBy: input.requestedBy,
      ttlSeconds: input.ttlSeconds ?? null,
    }),
  );
  const previousVersion = before.current?.version ?? null;
  let started: DeployStarted | null = null;
  return recordingCancellation(target, () => started, async () => {
    try {
      started = await progress.step('deploy', () => change.deployVersion(target, version), (s) => `version ${s.version}`);
    } catch (err) {
      if (isCancellation(err)) throw err;
      return fail(target, progress, version, previousVersion, `deploy step failed: ${messageOf(err)}`, before.current, readyTimeout);
    }
    const release = started;

    const readiness = await progress.step('wait-ready', () => waitUntilReady(target, release, readyTimeout, progress), (r) => r.detail);
    if (readiness.state !== 'ready') {
      progress.fail('wait-ready', readiness.detail);
      return fail(target, progress, version, previousVersion, `not ready: ${readiness.detail}`, before.current, readyTimeout);
    }

    const health = await progress.step('health-check', () => waitUntilHealthy(target, progress), (h) => `${h.source}: ${h.detail}`);
    if (!health.ok) {
      progress.fail('health-check', health.detail);
      return fail(target, progress, version, previousVersion, `health check failed (${health.source}): ${health.detail}`, before.current, readyTimeout);
    }

    const url = readiness.url ?? release.url ?? null;
    await recordSuccess(target, release.release, url, progress);
    return {
      operation: 'deploy',
      status: 'succeeded',
      version,
      previousVersion,
      url,
      detail: `${version} is live on ${describeTarget(target)}`,
      logs: null,
      rolledBackTo: null,
    };
  });
}

/** Validation and pre-flight: one activity since FEWER_ACTIVITIES, two steps of progress either way. */
async function checkTarget(target: Target, version: string, progress: Progress): Promise<PreflightReport> {
  const summary = (r: PreflightReport) => r.checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}`).join(', ');
  if (patched(FEWER_ACTIVITIES)) {
    progress.start('validate');
    const report = await progress.step('preflight', () => probeActivities.checkTarget(target, version), summary).catch((err: unknown) => {
      // Which of the two failed: a config or version the worker refused is the validate step's.
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'InvalidTarget') {
        progress.skip('preflight', 'not run: the target is invalid');
        progress.fail('validate', err.cause.message);
      }
      throw err;
    });
    progress.done('validate');
    return report;
  }
  await progress.step('validate', () => probeActivities.validateTarget(target, version));
  return progress.step('preflight', () => probeActivities.preflight(target), summary);
}

/**
 * A failed deploy: attach the provider's logs, put the previous release back when there is one, record
 * the result, and fail the workflow (so the Web UI shows it failed) with the outcome as details.
 */
async function fail(
  target: Target,
  progress: Progress,
  version: string,
  previousVersion: string | null,
  reason: string,
  previous: ReleaseSummary | undefined,
  readyTimeout: number,
): Promise<never> {
  progress.start('collect-logs');
  const logs = await fetchFailureLogs(target);
  progress.done('collect-logs');

  let rolledBackTo: string | null = null;
  let detail = reason;
  if (previous && previous.version !== version) {
    progress.start('rollback', `to ${previous.version}`);
    try {
      const back = await changeActivities(target).rollbackRelease(target, previous);
      const ready = await waitUntilReady(target, back, patched(CONTRACT_V2) ? readyTimeout : LEGACY_READY_TIMEOUT_SECONDS, progress);
      if (ready.state !== 'ready') throw new Error(`previous release not ready: ${ready.detail}`);
      const health = await waitUntilHealthy(target, progress);
      if (!health.ok) throw new Error(`previous release unhealthy: ${health.detail}`);
      rolledBackTo = previous.version;
      detail = `${reason}; rolled back automatically to ${previous.version}`;
      progress.done('rollback', `${previous.version} is back`);
    } catch (err) {
      if (isCancellation(err)) throw err;
      detail = `${reason}; automatic rollback to ${previous.version} failed too: ${messageOf(err)}`;
      progress.fail('rollback', messageOf(err));
    }
  } else {
    progress.skip('rollback', 'no previous release recorded');
  }

  const status = rolledBackTo ? 'rolled_back' : 'failed';
  await progress.step('record-result', () => recordActivities.recordResult({ status, url: null, error: detail, logs }));
  const outcome: OperationOutcome = { operation: 'deploy', status, version, previousVersion, url: null, detail, logs, rolledBackTo };
  throw ApplicationFailure.nonRetryable(`deploy of ${version} to ${describeTarget(target)} failed: ${detail}`, 'DeployFailed', outcome);
}
