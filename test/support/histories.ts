import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { execa } from 'execa';
import { inject } from 'vitest';
import { findTemporalCli } from '../../workers/temporalCli';

export const HISTORIES_DIR = fileURLToPath(new URL('../histories/', import.meta.url));

/**
 * Replays the latest run of `workflowId` against the current workflow code at once (a real history, a
 * real replay), and with FRAISIER_RECORD_HISTORIES=1 also writes it, as `temporal workflow show --output json`
 * prints it, to test/histories/<name>.json: the fixtures every CI run replays (test/replay.test.ts).
 */
export async function saveHistory(client: Client, workflowId: string, name: string): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: { code: inject('workflowBundleCode') } }, history, workflowId);
  if (process.env.FRAISIER_RECORD_HISTORIES === '1') {
    const { runId } = await handle.describe();
    const shown = await execa(findTemporalCli(), [
      'workflow', 'show', '--workflow-id', workflowId, '--run-id', runId,
      '--address', inject('temporalAddress'), '--output', 'json',
    ]);
    await mkdir(HISTORIES_DIR, { recursive: true });
    await writeFile(`${HISTORIES_DIR}${name}.json`, `${shown.stdout.trim()}\n`);
  }
}
