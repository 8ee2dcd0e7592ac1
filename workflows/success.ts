import { isCancellation, patched } from '@temporalio/workflow';
import type { ReleaseData } from '../domain/release';
import type { Target } from '../domain/target';
import { changeActivities, recordActivities } from './activities';
import { messageOf } from './failure';
import { CONTRACT_V2, FEWER_ACTIVITIES } from './patches';
import type { Progress } from './progress';

/**
 * The end of a successful deploy or rollback: the release is recorded (rows beyond `retain` dropped), the
 * provider's copies of releases no longer recorded are pruned (best-effort), and the result is recorded. Since
 * FEWER_ACTIVITIES the release and the result are recorded by one activity, and the pruning comes after.
 */
export async function recordSuccess(target: Target, release: ReleaseData, url: string | null, progress: Progress): Promise<void> {
  await progress.step('record-result', async () => {
    if (patched(FEWER_ACTIVITIES)) {
      await recordActivities.recordSucceeded(target, release, url);
      await pruneProviderReleases(target, progress);
      return;
    }
    await recordActivities.recordRelease(target, release);
    if (patched(CONTRACT_V2)) await pruneProviderReleases(target, progress);
    await recordActivities.recordResult({ status: 'succeeded', url, error: null, logs: null });
  });
}

/** Best-effort: a failed prune never fails the operation, the next one tries again. */
async function pruneProviderReleases(target: Target, progress: Progress): Promise<void> {
  try {
    const pruned = await changeActivities(target).pruneProviderReleases(target);
    progress.note(pruned.detail);
  } catch (err) {
    if (isCancellation(err)) throw err;
    progress.note(`pruning old releases failed (the next deploy tries again): ${messageOf(err)}`);
  }
}
