import { ApplicationFailure, continueAsNew, executeChild, ParentClosePolicy, patched } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { lockWorkflowId } from '../domain/ids';
import type { CleanupInput, CleanupItem, CleanupSummary, LockMemo } from '../domain/operations';
import { describeTarget } from '../domain/target';
import { changeActivities, reconcileActivities, recordActivities } from './activities';
import { messageOf } from './failure';
import { CLEANUP_POOL, CONTRACT_V2 } from './patches';
import { Progress } from './progress';
import { operationSearchAttributes } from './searchAttributes';

export const DEFAULT_CLEANUP_THRESHOLD_SECONDS = 24 * 3600;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_ITEMS_PER_RUN = 50;
/** Records left running by closed workflows, reconciled per run. */
const RECONCILE_PER_RUN = 100;

function emptySummary(): CleanupSummary {
  return { cleaned: [], superseded: [], skipped: [], failed: [], wouldClean: [] };
}

function label(item: CleanupItem): string {
  return `${describeTarget(item.target)} [${item.versions.join(', ')}]`;
}

/**
 * Finds expired ephemeral deployments and cleans them, `concurrency` targets at a time. Each target is cleaned by a
 * child workflow that holds the target's lock, so cleanup never races a deploy: a busy target is skipped
 * and picked up by the next run. After `itemsPerRun` items it continues as new to keep its history bounded.
 */
export async function cleanup(input: CleanupInput = {}): Promise<CleanupSummary> {
  const threshold = input.thresholdSeconds ?? DEFAULT_CLEANUP_THRESHOLD_SECONDS;
  const concurrency = Math.max(1, input.concurrency ?? DEFAULT_CONCURRENCY);
  const itemsPerRun = Math.max(1, input.itemsPerRun ?? DEFAULT_ITEMS_PER_RUN);
  const totals = input.totals ?? emptySummary();
  const progress = new Progress('cleanup', ['find-expired', 'clean']);

  // Records whose workflow was terminated or timed out cannot record their end themselves.
  if (!input.dryRun && patched(CONTRACT_V2)) {
    const reconciled = await progress.step('reconcile', () => reconcileActivities.reconcileRecords(RECONCILE_PER_RUN), (r) => `${r.length} record(s) marked`);
    totals.reconciled = [...(totals.reconciled ?? []), ...reconciled];
  }

  const { items, full } = await progress.step('find-expired', () => recordActivities.findExpired(threshold, itemsPerRun), (found) =>
    `${found.items.length} target(s)${found.full ? ', maybe more' : ''}`,
  );

  progress.start('clean');
  if (input.dryRun) {
    totals.wouldClean.push(...items.filter((i) => !i.superseded).map(label));
    progress.done('clean', `dry run: ${totals.wouldClean.length} would be cleaned`);
    return totals;
  }
  if (patched(CLEANUP_POOL)) {
    // `concurrency` lanes, each taking the next item as soon as its last one ended: the slots stay busy.
    let next = 0;
    let handled = 0;
    const lane = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++] as CleanupItem;
        await cleanOne(item, totals);
        progress.note(`${++handled}/${items.length} handled`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  } else {
    for (let i = 0; i < items.length; i += concurrency) {
      const batch = items.slice(i, i + concurrency);
      await Promise.all(batch.map((item) => cleanOne(item, totals)));
      progress.note(`${Math.min(i + concurrency, items.length)}/${items.length} handled`);
    }
  }
  progress.done('clean', `cleaned ${totals.cleaned.length}, skipped ${totals.skipped.length}, failed ${totals.failed.length}`);

  // A full page may mean more is waiting. Items skipped as busy stay expired and come back first, so a page
  // of nothing but busy targets ends the run (the next scheduled run retries them) instead of looping.
  const handledForGood = items.length - items.filter((i) => totals.skipped.includes(label(i))).length;
  if (full && handledForGood > 0) {
    await continueAsNew<typeof cleanup>({ ...input, totals });
  }
  return totals;
}

async function cleanOne(item: CleanupItem, totals: CleanupSummary): Promise<void> {
  if (item.superseded) {
    await recordActivities.markCleaned(item.keys);
    totals.superseded.push(label(item));
    return;
  }
  const memo: LockMemo = { operation: 'cleanup', version: item.versions.join(', '), requestedBy: 'cleanup' };
  try {
    await executeChild(cleanupTarget, {
      workflowId: lockWorkflowId(item.target),
      // On the queue of the workers that reach the target (e.g. its Docker host); else this run's own queue.
      ...(item.target.taskQueue ? { taskQueue: item.target.taskQueue } : {}),
      args: [item],
      memo: { ...memo },
      typedSearchAttributes: operationSearchAttributes(item.target, 'cleanup-target'),
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowExecutionTimeout: '30 minutes',
    });
    totals.cleaned.push(label(item));
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      totals.skipped.push(label(item));
    } else {
      totals.failed.push(`${label(item)}: ${messageOf(err)}`);
    }
  }
}

/** Stops then removes one expired ephemeral deployment and marks its records cleaned (they are kept). */
export async function cleanupTarget(item: CleanupItem): Promise<void> {
  const progress = new Progress('cleanup-target', ['stop', 'remove', 'mark-cleaned']);
  try {
    const change = changeActivities(item.target);
    await progress.step('stop', () => change.stopTarget(item.target));
    await progress.step('remove', () => change.removeTarget(item.target));
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`cleanup of ${describeTarget(item.target)} failed: ${messageOf(err)}`, 'CleanupFailed');
  }
  await progress.step('mark-cleaned', () => recordActivities.markCleaned(item.keys));
}
