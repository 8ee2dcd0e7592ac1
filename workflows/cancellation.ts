import { CancellationScope, isCancellation } from '@temporalio/workflow';
import { recordActivities } from './activities';

export const CANCELLED_MESSAGE =
  'cancelled before it finished; the target may be on either release: check `fraisier status`, then deploy or roll back';

/**
 * Runs the part of an operation that follows its record-start. Cancelled (from the Web UI, the temporal
 * CLI), the operation still records its end, in a scope that cannot be cancelled, so no record stays
 * "running" forever; then the cancellation goes on.
 */
export async function recordingCancellation<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() =>
        recordActivities.recordResult({ status: 'failed', url: null, error: CANCELLED_MESSAGE, logs: null }),
      );
    }
    throw err;
  }
}
