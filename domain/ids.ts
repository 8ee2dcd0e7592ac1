import type { TargetKey } from './target';

/**
 * The lock: every operation that changes a target (deploy, rollback, its cleanup) runs under this one
 * workflow ID, so Temporal itself refuses a second one while the first runs. Nothing to unlock after a crash.
 */
export function lockWorkflowId(target: TargetKey): string {
  return `${target.provider}:${target.fraise}:${target.environment}`;
}

export const CLEANUP_SCHEDULE_ID = 'fraisier-cleanup-hourly';
export const CLEANUP_SCHEDULED_WORKFLOW_ID = 'fraisier-cleanup';

export const DEFAULT_TASK_QUEUE = 'fraisier';
