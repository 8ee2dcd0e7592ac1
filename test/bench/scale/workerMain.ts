/**
 * The scale phase's worker as a process of its own (`--scale-worker process`), so that its RSS is the worker's alone:
 * made as `workers/main.ts` makes it (fraisier's logger, temporalSettings(), openRecords(DATABASE_URL),
 * createFraisierWorker), but with the bench's no-op provider, the phase's tuning and a workflow bundle the phase
 * built beforehand (so no webpack in this process). prepareNamespace is not called: the bench has registered the
 * search attributes, and the cleanup schedule it would create is not wanted on the bench's queue.
 *
 * Settings from the environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, FRAISIER_TASK_QUEUE, DATABASE_URL (a
 * PostgreSQL this process can reach), BENCH_WORKFLOW_BUNDLE (path of the bundled workflow code) and
 * BENCH_SCALE_TUNING (the WorkerTuning, JSON). Says `[bench-worker] ready pid <pid>` once the worker polls; SIGTERM
 * shuts it down (the Temporal runtime's shutdown signals).
 */
import { Runtime } from '@temporalio/worker';
import { Agent } from 'undici';
import { z } from 'zod';
import { createCommandRunner } from '../../../activities/runner';
import { temporalSettings } from '../../../config/temporal';
import { openRecords } from '../../../db/connect';
import { fraisierLogger } from '../../../workers/logger';
import { createFraisierWorker, type WorkerTuning } from '../../../workers/worker';
import { noopProvider } from './noopProvider';

const tuningSchema = z
  .object({
    maxConcurrentWorkflowTaskExecutions: z.number().int().positive(),
    maxConcurrentActivityTaskExecutions: z.number().int().positive(),
    maxCachedWorkflows: z.number().int().nonnegative(),
    maxConcurrentWorkflowTaskPolls: z.number().int().positive(),
    maxConcurrentActivityTaskPolls: z.number().int().positive(),
    workflowThreadPoolSize: z.number().int().positive(),
  })
  .partial()
  .strict();

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  Runtime.install({ logger: fraisierLogger() });
  const settings = temporalSettings();
  const codePath = required('BENCH_WORKFLOW_BUNDLE');
  const tuning: WorkerTuning = tuningSchema.parse(JSON.parse(process.env.BENCH_SCALE_TUNING ?? '{}'));
  const records = await openRecords(required('DATABASE_URL'), { migrate: false });
  const { extra } = noopProvider();
  const http = new Agent();
  const { worker, connection } = await createFraisierWorker({
    settings,
    records,
    workflowBundle: { codePath },
    providerDeps: { run: createCommandRunner(), http, env: {} },
    extraProviders: { [extra.entry.name]: extra },
    tuning,
  });
  const running = worker.run();
  process.stdout.write(`[bench-worker] ready pid ${process.pid} on "${settings.taskQueue}" at ${settings.address}\n`);
  try {
    await running;
  } finally {
    await connection.close();
    await records.close();
    await http.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench-worker] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
