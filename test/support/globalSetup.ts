import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../workers/devServer';
import { WORKFLOWS_PATH } from '../../workers/worker';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundleCode: string;
  }
}

/** One Temporal dev server (the real binary, headless, in memory) and one workflow bundle for all integration files. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logFile = join(tmpdir(), `fraisier-test-temporal-${process.pid}.log`);
  const server = await startDevServer({ uiPort: null, logFile, startTimeoutMs: 90_000 });
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundleCode', bundle.code);
  return async () => {
    await server.stop();
  };
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
