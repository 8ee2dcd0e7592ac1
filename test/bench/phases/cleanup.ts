/** Phase 4: cleanup throughput over expired ephemeral targets. */
import path from 'node:path';
import type { Target } from '../../../domain/target';
import { cleanup } from '../../../workflows/cleanup';
import type { Env } from '../env';
import { seedExpiredDeploy } from '../seed';
import { activityMs, historyBreakdown } from '../history';
import { heading, ms, now, printTable, stats, within } from '../report';

export async function benchCleanup(env: Env): Promise<void> {
  const { opts, client, taskQueue } = env;
  const k = opts.cleanupTargets;
  heading(`4. cleanup throughput: ${k} expired ephemeral targets whose service has no container, cleanup defaults (itemsPerRun 50, concurrency 4)`);
  const t0Seed = now();
  const startedAt = Date.now() - 2 * 3_600_000;
  const fraise = `bulk${process.pid}`;
  for (let i = 0; i < k; i++) {
    const target: Target = {
      fraise,
      environment: `pr-${i}`,
      provider: 'docker_compose',
      config: { compose_file: path.join(env.dir, 'docker-compose.yml'), service_name: 'preview', project_name: `${env.project}-bulk${i}`, pull: 'never' },
      retain: 5,
    };
    await seedExpiredDeploy(env.workerRecords, `bench-seed-${process.pid}-${i}`, i, target, new Date(startedAt - i * 1000), new Date(startedAt + 1000));
  }
  const seedMs = now() - t0Seed;

  const t0 = now();
  const handle = await client.workflow.start(cleanup, {
    workflowId: `bench-cleanup-${process.pid}`,
    taskQueue,
    args: [{ thresholdSeconds: 3600 }],
    workflowExecutionTimeout: '30 minutes',
  });
  const summary = await within(opts.phaseTimeoutMs, 'cleanup workflow', handle.result());
  const wallMs = now() - t0;
  const first = await historyBreakdown(client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
  const rows = await env.workerRecords.history({ fraise }, k + 10);
  const marked = rows.filter((r) => r.cleanedAt !== null).length;
  const child = stats(first.childMs);
  printTable(
    ['targets', 'cleaned', 'skipped', 'failed', 'records marked', 'seed ms', 'cleanup wall ms', 'targets/s', 'child median ms', 'child p95 ms', 'find-expired ms'],
    [
      [
        String(k),
        String(summary.cleaned.length),
        String(summary.skipped.length),
        String(summary.failed.length),
        String(marked),
        ms(seedMs),
        ms(wallMs),
        (summary.cleaned.length / (wallMs / 1000)).toFixed(2),
        ms(child.median),
        ms(child.p95),
        ms(activityMs(first, 'findExpired')),
      ],
    ],
  );
  if (summary.failed.length) console.log(`  first failure: ${summary.failed[0]}`);
  console.log('  (child = one cleanupTarget workflow: docker-compose stop + rm under the target lock + mark cleaned; from the first run\'s history)');
}
