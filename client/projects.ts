/**
 * The typed module a control plane imports to run project operations: the same workflows, under the same lock
 * (the project's workflow ID), that `fraisier project …` starts. Nothing here touches a secret.
 */
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { ProjectOperation, ProjectOperationInput, ProjectOutcome } from '../domain/projectOperations';
import { projectLockKey } from '../domain/projects';
import { deleteProject, provisionProject, restoreProject, startProject, stopProject } from '../workflows/projects';
import { startUnderLock, type LockHolder } from './lock';

/** The workflow type of each operation. */
export const PROJECT_WORKFLOWS = {
  provision: provisionProject,
  stop: stopProject,
  start: startProject,
  delete: deleteProject,
  restore: restoreProject,
} as const;

export type ProjectWorkflow = (typeof PROJECT_WORKFLOWS)[ProjectOperation];
export type ProjectHandle = WorkflowHandleWithFirstExecutionRunId<ProjectWorkflow>;

export interface StartProjectOperationOptions {
  operation: ProjectOperation;
  input: ProjectOperationInput;
  taskQueue: string;
  /** Queue behind the operation holding the project instead of being refused (CliError, exit code 3). */
  waitLock?: boolean;
  waitLockTimeoutMs?: number;
  onWaiting?: (holder: LockHolder) => void;
}

/** Starts one operation on a project under its lock and returns the workflow's handle (its result is a ProjectOutcome). */
export async function startProjectOperation(client: Client, o: StartProjectOperationOptions): Promise<ProjectHandle> {
  const { project } = o.input;
  const lockId = projectLockKey(project.backend, project.id);
  const workflow = PROJECT_WORKFLOWS[o.operation];
  return startUnderLock(client, {
    start: (options) => client.workflow.start(workflow, { ...options, args: [o.input] }),
    target: { lockId },
    memo: { operation: `project ${o.operation}`, version: project.id, requestedBy: o.input.requestedBy },
    searchAttributes: [],
    taskQueue: o.taskQueue,
    waitLock: o.waitLock === true,
    waitLockTimeoutMs: o.waitLockTimeoutMs ?? 30 * 60_000,
    ...(o.onWaiting ? { onWaiting: o.onWaiting } : {}),
  });
}

/** Runs one operation to its end: its outcome, or the workflow's failure (with the outcome as its details). */
export async function runProjectOperation(client: Client, o: StartProjectOperationOptions): Promise<ProjectOutcome> {
  const handle = await startProjectOperation(client, o);
  return handle.result();
}
