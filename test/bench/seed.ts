/** Seeding the records database with expired ephemeral deploys, for the phases that measure cleanup. */
import type { Records } from '../../db/types';
import type { Target } from '../../domain/target';

/** One succeeded ephemeral deploy of `target` (TTL 60 s) that started at `startedAt`: expired by the time cleanup runs. */
export async function seedExpiredDeploy(records: Records, workflowId: string, i: number, target: Target, startedAt: Date, finishedAt: Date): Promise<void> {
  const key = { workflowId, runId: `seed-run-${i}` };
  await records.recordStart({
    ...key,
    target,
    operation: 'deploy',
    version: `p${i}`,
    previousVersion: null,
    requestedBy: 'bench-seed',
    ephemeral: true,
    ttlSeconds: 60,
    startedAt,
  });
  await records.recordResult(key, { status: 'succeeded', url: null, error: null, logs: null, finishedAt });
}
