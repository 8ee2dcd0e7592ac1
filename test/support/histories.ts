import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';

export const HISTORIES_DIR = fileURLToPath(new URL('../histories/', import.meta.url));

/**
 * Replays the latest run of `workflowId` against the current workflow code at once (a real history, a
 * real replay), and with FRAISIER_RECORD_HISTORIES=1 also writes it to test/histories/<name>.json, the
 * fixtures every CI run replays (test/replay.test.ts).
 */
export async function saveHistory(client: Client, workflowId: string, name: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: { code: inject('workflowBundleCode') } }, history, workflowId);
  if (process.env.FRAISIER_RECORD_HISTORIES === '1') {
    await mkdir(HISTORIES_DIR, { recursive: true });
    await writeFile(`${HISTORIES_DIR}${name}.json`, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
  }
}
