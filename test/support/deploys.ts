import type { Client } from '@temporalio/client';
import type { Target } from '../../activities/providers/contract';
import { startUnderLock } from '../../client/lock';
import { operationSearchAttributes } from '../../workflows/searchAttributes';

/** Starts a deploy under the target's lock as the CLI does (refused when held), on the given task queue. */
export function startDeployUnderLock(client: Client, target: Target, version: string, requestedBy: string, taskQueue: string) {
  return startUnderLock(client, {
    workflowType: 'deploy',
    target,
    args: [{ target, version, requestedBy }],
    memo: { operation: 'deploy', version, requestedBy },
    searchAttributes: operationSearchAttributes(target, 'deploy', version),
    taskQueue,
    waitLock: false,
    waitLockTimeoutMs: 0,
  });
}
