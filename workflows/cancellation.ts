import { ApplicationFailure, CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { DeployStarted } from '../domain/release';
import type { Target } from '../domain/target';
import { changeActivities, recordActivities } from './activities';
import { messageOf } from './failure';
import { CONTRACT_V2, RECORD_UNEXPECTED_FAILURE } from './patches';

/** Failures thrown after their outcome was recorded (deploy.ts's fail(), rollback.ts's failed()). */
const RECORDED_FAILURES = new Set(['DeployFailed', 'RollbackFailed']);

function isRecordedFailure(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type !== undefined && err.type !== null && RECORDED_FAILURES.has(err.type);
}

export const CANCELLED_MESSAGE =
  'cancelled before it finished; the target may be on either release: check `fraisier status`, then deploy or roll back';

/**
 * Runs the part of an operation that follows its record-start. Cancelled (from the Web UI, the temporal
 * CLI), the operation first asks the provider to stop its own work (a queued build, say), then records its
 * end, in a scope that cannot be cancelled, so no record stays "running" forever; then the cancellation goes on.
 * `started` gives what the change step returned, or null before it returned.
 */
export async function recordingCancellation<T>(target: Target, started: () => DeployStarted | null, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        let error = CANCELLED_MESSAGE;
        if (patched(CONTRACT_V2)) {
          const stopped = await changeActivities(target)
            .cancelOperation(target, started())
            .then((r) => r.detail)
            .catch((e: unknown) => `stopping the provider's work failed: ${messageOf(e)}`);
          error = `${CANCELLED_MESSAGE} (${stopped})`;
        }
        await recordActivities.recordResult({ status: 'failed', url: null, error, logs: null });
      });
    } else if (!isRecordedFailure(err) && patched(RECORD_UNEXPECTED_FAILURE)) {
      // A failure no step turned into an outcome (a provider call that kept failing past its retries): recorded
      // too, so that the record does not stay "running" until the next cleanup reconciles it.
      await recordActivities.recordResult({ status: 'failed', url: null, error: `failed: ${messageOf(err)}`, logs: null });
    }
    throw err;
  }
}
