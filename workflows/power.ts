import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { OperationOutcome, PowerInput } from '../domain/operations';
import type { DeployStarted } from '../domain/release';
import { DEFAULT_BOUNDS, describeTarget } from '../domain/target';
import { changeActivities, probeActivities, recordActivities } from './activities';
import { fetchFailureLogs, messageOf } from './failure';
import { Progress } from './progress';
import { waitUntilHealthy, waitUntilReady } from './waiting';

const STOP_STEPS = ['validate', 'find-release', 'stop'];
const START_STEPS = ['validate', 'find-release', 'start', 'wait-ready', 'health-check'];

/**
 * Stops a target, or starts it again on its recorded release and waits until it is up and healthy. It holds the
 * target's lock like a deploy; it changes no release and writes no deployment record.
 */
export async function power(input: PowerInput): Promise<OperationOutcome> {
  const { target, action } = input;
  const progress = new Progress(action, action === 'stop' ? STOP_STEPS : START_STEPS);
  const change = changeActivities(target);
  await progress.step('validate', () => probeActivities.validateTarget(target));
  const { current } = await progress.step('find-release', () => recordActivities.findRollbackRelease(target, null), (f) =>
    f.current ? `${f.current.version} is the recorded release` : 'no release recorded',
  );
  const version = current?.version ?? 'unknown';
  const outcome = (status: OperationOutcome['status'], detail: string, url: string | null = null, logs: string | null = null): OperationOutcome => ({
    operation: action,
    status,
    version,
    previousVersion: current?.version ?? null,
    url,
    detail,
    logs,
    rolledBackTo: null,
  });

  if (action === 'stop') {
    await progress.step('stop', () => change.stopTarget(target));
    return outcome('succeeded', `${describeTarget(target)} is stopped (it was on ${version}); \`fraisier start\` starts it again`);
  }

  const failed = async (reason: string): Promise<never> => {
    const logs = await fetchFailureLogs(target);
    throw ApplicationFailure.nonRetryable(`start of ${describeTarget(target)} failed: ${reason}`, 'StartFailed', outcome('failed', reason, null, logs));
  };
  let started: DeployStarted | null = null;
  try {
    try {
      started = await progress.step('start', () => change.startTarget(target, current ?? null), (s) => `on ${s.version}`);
    } catch (err) {
      if (isCancellation(err)) throw err;
      return await failed(`start step failed: ${messageOf(err)}`);
    }
    const readyTimeout = input.readyTimeoutSeconds ?? (target.bounds ?? DEFAULT_BOUNDS).readySeconds;
    const release = started;
    const readiness = await progress.step('wait-ready', () => waitUntilReady(target, release, readyTimeout, progress), (r) => r.detail);
    if (readiness.state !== 'ready') return await failed(`not ready: ${readiness.detail}`);
    const health = await progress.step('health-check', () => waitUntilHealthy(target, progress), (h) => `${h.source}: ${h.detail}`);
    if (!health.ok) return await failed(`health check failed (${health.source}): ${health.detail}`);
    const url = readiness.url ?? release.url ?? null;
    return outcome('succeeded', `${describeTarget(target)} is running again on ${version}`, url);
  } catch (err) {
    // Cancelled: the provider's own work (a queued Coolify start) is cancelled too, whatever happens to us.
    if (isCancellation(err)) {
      const pending = started;
      await CancellationScope.nonCancellable(() => change.cancelOperation(target, pending).catch(() => undefined));
    }
    throw err;
  }
}
