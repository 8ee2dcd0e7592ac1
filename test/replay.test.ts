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

// One or more runs of every workflow type in workflows/index.ts, recorded with today's code…
const CURRENT = [
  'deploy-succeeded',
  'deploy-rolled-back',
  'deploy-cancelled',
  'rollback-succeeded',
  'power-stop',
  'power-start',
  'project-provision',
  'project-stop',
  'project-start',
  'project-restore',
  'project-delete',
  'cleanup',
  'cleanup-target',
  'inspect-status',
  'inspect-logs',
  'test-provider',
];
// …and Coolify's asynchronous deploys (one awaitRelease activity instead of timers)…
const COOLIFY = ['coolify-deploy-succeeded', 'coolify-deploy-cancelled'];
// …and bare_metal's deploys (the same workflow over SSH: every provider must replay the same way)…
const BARE_METAL = ['bare-metal-deploy-succeeded', 'bare-metal-deploy-rolled-back'];
// …and the same runs recorded before the patches of workflows/patches.ts: they must still replay.
const BEFORE_FEWER_ACTIVITIES = ['deploy-succeeded', 'deploy-rolled-back', 'deploy-cancelled', 'rollback-succeeded', ...COOLIFY];
const REQUIRED = [
  ...CURRENT,
  ...COOLIFY,
  ...BARE_METAL,
  ...CURRENT.filter((name) => !/^(power|project)-/.test(name)).map((name) => `before-contract-v2--${name}`),
  ...BEFORE_FEWER_ACTIVITIES.map((name) => `before-fewer-activities--${name}`),
  'before-cleanup-pool--cleanup',
];

describe('replay of recorded histories', () => {
  it('has a recorded history for every scenario listed above', async () => {
    const names = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    expect(names).toEqual(expect.arrayContaining(REQUIRED));
  });

  it('covers every workflow type the worker registers', async () => {
    const recorded = new Set<string>();
    for (const file of (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json'))) {
      const history = JSON.parse(await readFile(`${HISTORIES_DIR}${file}`, 'utf8')) as {
        events: Array<{ workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }>;
      };
      const type = history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      if (type) recorded.add(type);
    }
    const registered = Object.keys(await import('../workflows/index')).sort();
    expect(registered.filter((type) => !recorded.has(type))).toEqual([]);
  });

  const events = async (name: string) =>
    (JSON.parse(await readFile(`${HISTORIES_DIR}${name}.json`, 'utf8')) as {
      events: Array<{ activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }>;
    }).events;
  const activities = async (name: string): Promise<string[]> =>
    (await events(name)).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);

  it("the histories recorded with today's code take the patched paths, the older ones do not", async () => {
    expect(await activities('deploy-succeeded')).toContain('pruneProviderReleases');
    expect(await activities('deploy-cancelled')).toContain('cancelOperation');
    expect(await activities('cleanup')).toContain('reconcileRecords');
    expect(await activities('coolify-deploy-succeeded')).toContain('awaitRelease');
    // The webhook's hint was confirmed by one quick probe: no timers between looks.
    expect((await activities('coolify-deploy-succeeded')).filter((a) => a === 'probeReadiness')).toHaveLength(1);
    expect(await activities('coolify-deploy-cancelled')).toContain('cancelOperation');
    expect(await activities('before-contract-v2--deploy-succeeded')).not.toContain('pruneProviderReleases');
    expect(await activities('before-contract-v2--cleanup')).not.toContain('reconcileRecords');
    // One activity checks the target, one records the success.
    for (const name of ['deploy-succeeded', 'coolify-deploy-succeeded']) {
      expect((await activities(name)).slice(0, 2)).toEqual(['checkTarget', 'recordStart']);
      expect((await activities(name)).slice(-2)).toEqual(['recordSucceeded', 'pruneProviderReleases']);
    }
    expect(await activities('rollback-succeeded')).toContain('recordSucceeded');
    expect(await activities('before-fewer-activities--deploy-succeeded')).toContain('validateTarget');
    expect(await activities('before-fewer-activities--rollback-succeeded')).not.toContain('recordSucceeded');
  });

  it('a successful deploy writes at most 60 history events, whether the wait was pushed or polled', async () => {
    // Recorded with the webhook's signal: the polled wait has no signal and no second look, so it is shorter.
    expect((await events('coolify-deploy-succeeded')).length).toBeLessThanOrEqual(60);
    expect((await events('deploy-succeeded')).length).toBeLessThanOrEqual(60);
    expect((await events('bare-metal-deploy-succeeded')).length).toBeLessThanOrEqual(60);
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
