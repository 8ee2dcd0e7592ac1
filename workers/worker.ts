import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/operations';
import { createProviderSource } from '../activities/providerSource';
import { createCommandRunner } from '../activities/runner';
import type { Records } from '../db/types';
import { connectionOptions, type TemporalSettings } from './temporalConnection';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface FraisierWorkerOptions {
  settings: TemporalSettings;
  records: Records;
  /** A prebuilt workflow bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** A worker that runs every fraisier workflow and activity on `settings.taskQueue`. */
export async function createFraisierWorker(options: FraisierWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const { settings } = options;
  const connection = await NativeConnection.connect(connectionOptions(settings));
  const activities = createActivities({
    records: options.records,
    providers: createProviderSource({ run: createCommandRunner() }),
  });
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  return { worker, connection };
}
