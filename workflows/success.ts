import { isCancellation, patched } from '@temporalio/workflow';
import type { ReleaseData } from '../domain/release';
import type { Target } from '../domain/target';
import { changeActivities, recordActivities } from './activities';
import { messageOf } from './failure';
import { CONTRACT_V2 } from './patches';
import type { Progress } from './progress';

/**
 * The end of a successful deploy or rollback: the release is recorded (rows beyond `retain` dropped), the
 * provider's copies of releases no longer recorded are pruned (best-effort: a failed prune never fails the
 * operation, the next one tries again), and the result is recorded.
 */
export async function recordSuccess(target: Target, release: ReleaseData, url: string | null, progress: Progress): Promise<void> {
  await progress.step('record-result', async () => {
    await recordActivities.recordRelease(target, release);
    if (patched(CONTRACT_V2)) {
      try {
        const pruned = await changeActivities(target).pruneProviderReleases(target);
        progress.note(pruned.detail);
      } catch (err) {
        if (isCancellation(err)) throw err;
        progress.note(`pruning old releases failed (the next deploy tries again): ${messageOf(err)}`);
      }
    }
    await recordActivities.recordResult({ status: 'succeeded', url, error: null, logs: null });
  });
}
