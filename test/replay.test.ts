/**
 * Every committed history (recorded from real runs, see test/support/histories.ts) must replay against the
 * current workflow code: a change that breaks determinism fails here, in every CI run.
 */
import { readdir, readFile } from 'node:fs/promises';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../workers/worker';
import { HISTORIES_DIR } from './support/histories';

// One or more runs of every workflow type in workflows/index.ts.
const REQUIRED = [
  'deploy-succeeded',
  'deploy-rolled-back',
  'deploy-cancelled',
  'rollback-succeeded',
  'cleanup',
  'cleanup-target',
  'inspect-status',
  'inspect-logs',
  'test-provider',
];

describe('replay of recorded histories', () => {
  it('has a recorded history for every workflow type', async () => {
    const names = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    expect(names).toEqual(expect.arrayContaining(REQUIRED));
  });

  it('replays every recorded history without nondeterminism', async () => {
    const files = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json'));
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: file,
        history: historyFromJSON(JSON.parse(await readFile(`${HISTORIES_DIR}${file}`, 'utf8'))),
      })),
    );
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH }, histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  }, 120_000);
});
