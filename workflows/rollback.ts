import { ApplicationFailure, isCancellation, upsertSearchAttributes } from '@temporalio/workflow';
import type { OperationOutcome, RollbackInput } from '../domain/operations';
import type { DeployStarted } from '../domain/release';
import { DEFAULT_BOUNDS, describeTarget } from '../domain/target';
import { changeActivities, probeActivities, recordActivities } from './activities';
import { fetchFailureLogs, messageOf } from './failure';
import { recordingCancellation } from './cancellation';
import { Progress } from './progress';
import { FRAISE_VERSION } from './searchAttributes';
import { recordSuccess } from './success';
import { waitUntilHealthy, waitUntilReady } from './waiting';

const ROLLBACK_STEPS = ['validate', 'find-release', 'record-start', 'rollback', 'wait-ready', 'health-check', 'record-result'];

/** Puts a recorded release back (the previous one, or `toVersion`) without rebuilding anything. */
export async function rollback(input: RollbackInput): Promise<OperationOutcome> {
  const { target } = input;
  const toVersion = input.toVersion ?? null;
  const progress = new Progress('rollback', ROLLBACK_STEPS);

  await progress.step('validate', () => probeActivities.validateTarget(target, input.toVersion ?? undefined));
  const found = await progress.step('find-release', () => recordActivities.findRollbackRelease(target, toVersion), (f) =>
    f.release ? `to ${f.release.version}` : 'none',
  );
  const release = found.release;
  if (!release) {
    const wanted = toVersion === null ? 'previous release' : `release of ${toVersion}`;
    const known = found.known.length > 0 ? `recorded versions: ${found.known.join(', ')}` : 'no release is recorded yet: deploy first';
    progress.fail('find-release', `no ${wanted}`);
    throw ApplicationFailure.nonRetryable(`cannot roll back ${describeTarget(target)}: found no ${wanted}; ${known}`, 'NoRelease');
  }
  const previousVersion = found.current?.version ?? null;
  // Started without --to, the run did not know its version yet: tag it now so searches find it.
  upsertSearchAttributes([{ key: FRAISE_VERSION, value: release.version }]);

  await progress.step('record-start', () =>
    recordActivities.recordStart({
      target,
      operation: 'rollback',
      version: release.version,
      previousVersion,
      requestedBy: input.requestedBy,
      ttlSeconds: null,
    }),
  );

  let started: DeployStarted | null = null;
  return recordingCancellation(target, () => started, async () => {
    const failed = async (reason: string): Promise<never> => {
      const logs = await fetchFailureLogs(target);
      await progress.step('record-result', () => recordActivities.recordResult({ status: 'failed', url: null, error: reason, logs }));
      const outcome: OperationOutcome = {
        operation: 'rollback',
        status: 'failed',
        version: release.version,
        previousVersion,
        url: null,
        detail: reason,
        logs,
        rolledBackTo: null,
      };
      throw ApplicationFailure.nonRetryable(`rollback of ${describeTarget(target)} to ${release.version} failed: ${reason}`, 'RollbackFailed', outcome);
    };

    try {
      started = await progress.step('rollback', () => changeActivities(target).rollbackRelease(target, release), () => `to ${release.version}`);
    } catch (err) {
      if (isCancellation(err)) throw err;
      return failed(`rollback step failed: ${messageOf(err)}`);
    }
    const back = started;
    const readiness = await progress.step('wait-ready', () =>
      waitUntilReady(target, back, input.readyTimeoutSeconds ?? (target.bounds ?? DEFAULT_BOUNDS).readySeconds, progress),
    );
    if (readiness.state !== 'ready') return failed(`not ready: ${readiness.detail}`);
    const health = await progress.step('health-check', () => waitUntilHealthy(target, progress));
    if (!health.ok) return failed(`health check failed (${health.source}): ${health.detail}`);

    const url = readiness.url ?? back.url ?? null;
    await recordSuccess(target, { version: release.version, artifact: release.artifact }, url, progress);
    return {
      operation: 'rollback',
      status: 'succeeded',
      version: release.version,
      previousVersion,
      url,
      detail: `${describeTarget(target)} is back on ${release.version}`,
      logs: null,
      rolledBackTo: null,
    };
  });
}
