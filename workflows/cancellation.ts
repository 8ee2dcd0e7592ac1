import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { DeployStarted } from '../domain/release';
import type { Target } from '../domain/target';
import { changeActivities, recordActivities } from './activities';
import { messageOf } from './failure';
import { CONTRACT_V2 } from './patches';

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
    }
    throw err;
  }
}
