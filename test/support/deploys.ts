import type { Client } from '@temporalio/client';
import { startUnderLock } from '../../client/lock';
import type { Target } from '../../domain/target';
import { deploy } from '../../workflows/deploy';
import { operationSearchAttributes } from '../../workflows/searchAttributes';

/** Starts a deploy under the target's lock as the CLI does (refused when held), on the given task queue. */
export function startDeployUnderLock(client: Client, target: Target, version: string, requestedBy: string, taskQueue: string) {
  return startUnderLock(client, {
    start: (o) => client.workflow.start(deploy, { ...o, args: [{ target, version, requestedBy }] }),
    target,
    memo: { operation: 'deploy', version, requestedBy },
    searchAttributes: operationSearchAttributes(target, 'deploy', version),
    taskQueue,
    waitLock: false,
    waitLockTimeoutMs: 0,
  });
}
