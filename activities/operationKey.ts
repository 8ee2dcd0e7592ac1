import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { OperationKey } from '../domain/operations';

/** The workflow run this activity works for: the key its operation is recorded under. */
export function currentOperationKey(): OperationKey {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw ApplicationFailure.nonRetryable('records are written only by activities that a workflow runs', 'NoWorkflow');
  return { workflowId: execution.workflowId, runId: execution.runId };
}
