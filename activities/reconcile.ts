/**
 * Records left "running" by a workflow that can no longer record its end (terminated, timed out): they are
 * marked with what Temporal says happened to the run. Cleanup runs this on every pass.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type WorkflowExecutionStatusName } from '@temporalio/client';
import type { Records, ReconciledResult } from '../db/types';

/** What to record for a run Temporal reports closed (or no longer knows); undefined while it runs. */
export function reconciledResult(status: WorkflowExecutionStatusName | 'NOT_FOUND', closedAt: Date | undefined): Omit<ReconciledResult, 'finishedAt'> | undefined {
  const when = closedAt ? ` at ${closedAt.toISOString()}` : '';
  switch (status) {
    case 'RUNNING':
    case 'PAUSED':
    case 'UNKNOWN':
    case 'UNSPECIFIED':
      return undefined;
    case 'TERMINATED':
      return { status: 'terminated', error: `the workflow was terminated${when} before it recorded its end; check \`fraisier status\`, then deploy or roll back` };
    case 'TIMED_OUT':
      return { status: 'timed_out', error: `the workflow hit its execution timeout${when} before it recorded its end; check \`fraisier status\`, then deploy or roll back` };
    case 'NOT_FOUND':
      return { status: 'failed', error: 'Temporal no longer knows this run (past its retention) and it never recorded its end' };
    default:
      return { status: 'failed', error: `the workflow closed as ${status}${when} without recording its end` };
  }
}

export function createReconcileActivities(deps: { records: Records }) {
  return {
    /** Marks at most `limit` "running" records whose workflow run is closed; returns them as `workflowId run runId: status`. */
    async reconcileRecords(limit: number): Promise<string[]> {
      const activity = Context.current();
      const client = activity.client;
      const running = await deps.records.findRunning(limit);
      const marked: string[] = [];
      for (const row of running) {
        let status: Parameters<typeof reconciledResult>[0];
        let closedAt: Date | undefined;
        try {
          const d = await client.workflow.getHandle(row.workflowId, row.runId).describe();
          status = d.status.name;
          closedAt = d.closeTime;
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          status = 'NOT_FOUND';
        }
        const result = reconciledResult(status, closedAt);
        activity.heartbeat(`${marked.length} of ${running.length}`);
        if (!result) continue;
        if (await deps.records.closeRunning(row, { ...result, finishedAt: closedAt ?? new Date() })) {
          marked.push(`${row.workflowId} run ${row.runId}: ${result.status}`);
        }
      }
      return marked;
    },
  };
}
