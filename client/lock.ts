import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { WorkflowOptions } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { lockWorkflowId } from '../domain/ids';
import type { LockMemo } from '../domain/operations';
import type { TargetKey } from '../domain/target';
import { CliError, EXIT } from './exitCodes';
import { queryProgress } from './follow';

/** How long a refusal waits for the holder's current step (a query needs a live worker): a courtesy, never a delay. */
export const STEP_QUERY_BUDGET_MS = 250;

export interface LockHolder {
  workflowId: string;
  runId: string;
  workflowType: string;
  operation: string;
  version: string;
  requestedBy: string;
  since: Date;
  step?: string;
}

/**
 * Who holds the lock (a target's, or another lock workflow ID such as a project's), or undefined when nothing runs
 * under its workflow ID. Temporal's other errors go up.
 */
export async function lockHolder(client: Client, lock: TargetKey | string, stepBudgetMs = STEP_QUERY_BUDGET_MS): Promise<LockHolder | undefined> {
  const workflowId = typeof lock === 'string' ? lock : lockWorkflowId(lock);
  const handle = client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw new CliError(
      `cannot tell who holds ${workflowId}: Temporal answered ${(err as Error).message}. Check that Temporal is up and that this client may describe workflows in the namespace`,
      EXIT.badInput,
    );
  }
  if (description.status.name !== 'RUNNING') return undefined;
  const memo = (description.memo ?? {}) as Partial<LockMemo>;
  const step = stepBudgetMs > 0 ? (await queryProgress(handle, stepBudgetMs))?.current : undefined;
  return {
    workflowId,
    runId: description.runId,
    workflowType: description.type,
    operation: memo.operation ?? description.type,
    version: memo.version ?? '?',
    requestedBy: memo.requestedBy ?? '?',
    since: description.startTime,
    ...(step ? { step } : {}),
  };
}

export function describeHolder(holder: LockHolder, now: Date = new Date()): string {
  const seconds = Math.max(0, Math.round((now.getTime() - holder.since.getTime()) / 1000));
  const step = holder.step ? `, now at step "${holder.step}"` : '';
  return `${holder.operation} of ${holder.version} requested by ${holder.requestedBy}, running since ${holder.since.toISOString()} (${seconds}s ago)${step} [workflow ${holder.workflowId} run ${holder.runId}]`;
}

/** The start options the lock decides; the caller adds its workflow and typed arguments. */
export type LockedStartOptions = Pick<
  WorkflowOptions,
  'workflowId' | 'taskQueue' | 'memo' | 'typedSearchAttributes' | 'workflowIdConflictPolicy' | 'workflowIdReusePolicy' | 'workflowExecutionTimeout'
> & { workflowId: string; taskQueue: string };

export interface StartUnderLockOptions<H> {
  /** Starts the workflow with these options, e.g. `(o) => client.workflow.start(deploy, { ...o, args: [input] })`. */
  start: (options: LockedStartOptions) => Promise<H>;
  /** Whose lock: a target's, or a lock workflow ID of its own (a project's). */
  target: TargetKey | { lockId: string };
  memo: LockMemo;
  searchAttributes: SearchAttributePair[];
  taskQueue: string;
  /** Queue behind the holder instead of being refused. */
  waitLock: boolean;
  waitLockTimeoutMs: number;
  onWaiting?: (holder: LockHolder) => void;
}

/**
 * Starts the workflow under the target's lock (its workflow ID). Held: refused with exit code 3 naming the
 * holder, or with `waitLock`, waits for the holder's result (a long poll on its history, no polling loop)
 * and tries again.
 */
export async function startUnderLock<H>(client: Client, o: StartUnderLockOptions<H>): Promise<H> {
  const workflowId = 'lockId' in o.target ? o.target.lockId : lockWorkflowId(o.target);
  const deadline = Date.now() + o.waitLockTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await o.start({
        workflowId,
        taskQueue: o.taskQueue,
        memo: { ...o.memo },
        typedSearchAttributes: o.searchAttributes,
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowExecutionTimeout: '2 hours',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const holder = await lockHolder(client, workflowId);
    if (!holder) {
      // It ended between our start and our look: try again, a bounded number of times.
      if (attempt < 5) continue;
      throw new CliError(`${workflowId} is busy and kept changing hands; try again`, EXIT.locked);
    }
    if (!o.waitLock) {
      throw new CliError(`${workflowId} is locked: ${describeHolder(holder)}. Wait for it, or run again with --wait-lock to queue behind it.`, EXIT.locked, holder);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new CliError(`${workflowId} is still locked after waiting: ${describeHolder(holder)}`, EXIT.locked, holder);
    }
    o.onWaiting?.(holder);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.workflow
        .getHandle(workflowId, holder.runId)
        .result()
        .catch(() => undefined),
      new Promise((r) => (timer = setTimeout(r, remaining))),
    ]);
    clearTimeout(timer);
  }
}
