/**
 * What an end-to-end test of the workflows stands on, started in one call: PostgreSQL for the records, a Temporal
 * client of the test's dev server, and a fraisier worker on its own task queue with the given worker env; `close`
 * stops them all. The CLI reaches them with `cliEnv`.
 */
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { Agent } from 'undici';
import { inject } from 'vitest';
import { createCommandRunner } from '../../activities/runner';
import { temporalSettings } from '../../config/temporal';
import { openRecords } from '../../db/connect';
import type { Records } from '../../db/types';
import { createFraisierWorker } from '../../workers/worker';
import { startPostgresCluster } from './postgres';

export interface WorkerStack {
  records: Records;
  client: Client;
  worker: Worker;
  address: string;
  /** The environment the CLI needs to reach them, over the given one. */
  cliEnv: Record<string, string>;
  close(): Promise<void>;
}

export async function startWorkerStack(o: { taskQueue: string; workerEnv: Record<string, string> }): Promise<WorkerStack> {
  const pg = await startPostgresCluster();
  const records = await openRecords(pg.url);
  const address = inject('temporalAddress');
  const client = new Client({ connection: await Connection.connect({ address }) });
  const http = new Agent();
  const { worker } = await createFraisierWorker({
    settings: temporalSettings({ TEMPORAL_ADDRESS: address, FRAISIER_TASK_QUEUE: o.taskQueue }),
    records,
    workflowBundle: { code: inject('workflowBundleCode') },
    providerDeps: { run: createCommandRunner(), http, env: o.workerEnv },
  });
  const running = worker.run();
  return {
    records,
    client,
    worker,
    address,
    cliEnv: { ...(process.env as Record<string, string>), ...o.workerEnv, TEMPORAL_ADDRESS: address, DATABASE_URL: pg.url, FRAISIER_TASK_QUEUE: o.taskQueue },
    async close() {
      worker.shutdown();
      await running.catch(() => undefined);
      await client.connection.close();
      await records.close();
      await http.close();
      await pg.stop();
    },
  };
}
