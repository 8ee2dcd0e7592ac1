import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { Agent } from 'undici';
import { createActivities } from '../activities/index';
import { createProviderSource, type ExtraProvider } from '../activities/providerContext';
import type { ProviderDeps } from '../activities/providers/contract';
import { createCommandRunner } from '../activities/runner';
import type { TemporalSettings } from '../config/temporal';
import type { Records } from '../db/types';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface FraisierWorkerOptions {
  settings: TemporalSettings;
  records: Records;
  /** A prebuilt workflow bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** What providers are built with; the real command runner, a pooled HTTP agent and this process's environment by default. */
  providerDeps?: ProviderDeps;
  /**
   * Providers outside fraisier's catalogue, by name (a benchmark's in-process double): used only for names the
   * catalogue does not have, never instead of one of its providers.
   */
  extraProviders?: Readonly<Record<string, ExtraProvider>>;
  /** The worker's concurrency and cache settings; Temporal's defaults when absent. */
  tuning?: WorkerTuning;
}

/** The worker settings a deployment (or a benchmark) may size to its machine. */
export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxCachedWorkflows'
  | 'maxConcurrentWorkflowTaskPolls'
  | 'maxConcurrentActivityTaskPolls'
  | 'workflowThreadPoolSize'
>;

/** What providers get on a real worker. */
export function defaultProviderDeps(): ProviderDeps {
  return {
    run: createCommandRunner(),
    http: new Agent({ connect: { timeout: 10_000 }, headersTimeout: 60_000, bodyTimeout: 60_000 }),
    env: process.env,
  };
}

/** A worker that runs every fraisier workflow and activity on `settings.taskQueue`. */
export async function createFraisierWorker(options: FraisierWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const { settings } = options;
  const connection = await NativeConnection.connect(settings.connection);
  const providerDeps = options.providerDeps ?? defaultProviderDeps();
  const activities = createActivities({ records: options.records, providers: createProviderSource(providerDeps, options.extraProviders), providerDeps });
  const worker = await Worker.create({
    ...options.tuning,
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  return { worker, connection };
}
