/**
 * The workflows' own rules, on the real Temporal dev server and the real workflow bundle, with activities
 * written here that answer as a provider would (the providers themselves are tested for real elsewhere).
 * What is checked: what the workflows call, in which order, with what, and what they record.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { fraisierLogger } from '../../workers/logger';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FraisierActivities } from '../../activities/index';
import type { ProjectActivities } from '../../activities/projects/activities';
import type { CleanupItem, DeployInput, OperationOutcome } from '../../domain/operations';
import type { DeployStarted, ReleaseData } from '../../domain/release';
import type { Target } from '../../domain/target';
import { CANCELLED_MESSAGE } from '../../workflows/cancellation';
import { cleanup } from '../../workflows/cleanup';
import { deploy } from '../../workflows/deploy';
import { power } from '../../workflows/power';
import { progressQuery } from '../../workflows/progress';
import { deploymentEndedSignal } from '../../workflows/signals';
import { CliError, EXIT } from '../../client/exitCodes';
import { lockHolder } from '../../client/lock';
import { waitForStep } from '../support/progress';

Runtime.install({ logger: fraisierLogger('WARN') });

const taskQueue = `rules-${process.pid}`;
const target: Target = {
  fraise: 'rules',
  environment: 'test',
  provider: 'docker_compose',
  config: {},
  retain: 3,
  healthCheck: { type: 'tcp', host: '127.0.0.1', port: 1, timeoutSeconds: 1, intervalSeconds: 1 },
};
const V1 = { version: 'v1', artifact: { image: 'app:v1' }, recordedAt: '2026-01-01T00:00:00.000Z' };

/** How the stub provider behaves in one scenario. */
interface Script {
  /** findRollbackRelease finds v1 recorded as the current release. */
  recorded?: boolean;
  /** checkTarget refuses the target (InvalidTarget). */
  invalid?: boolean;
  readiness?: (started: DeployStarted) => 'ready' | 'pending';
  /** The provider deploys asynchronously: its deployments have an id (providerRef). */
  async?: boolean;
  healthy?: boolean;
  deployBlocks?: boolean;
  /** probeHealth fails for good (as a provider call that kept failing would). */
  healthThrows?: boolean;
  pruneFails?: boolean;
  /** What findExpired finds (default nothing). */
  expired?: CleanupItem[];
  /** removeTarget takes this long (ms) for these fraises. */
  slowRemoval?: Record<string, number>;
}

let script: Script = {};
const calls: Array<{ name: string; args: unknown[] }> = [];
/** The fraises removeTarget finished, in order. */
const removed: string[] = [];
let client: Client;
let worker: Worker;
let running: Promise<void>;

function started(version: string): DeployStarted {
  return { version, release: { version, artifact: { image: `app:${version}` } }, ...(script.async ? { providerRef: `dep-${version}` } : {}) };
}

/** Every activity a deploy, rollback, stop/start or cleanup may call; each records its call. */
function stubActivities(): Omit<FraisierActivities, keyof ProjectActivities> {
  const log =
    <A extends unknown[], R>(name: string, body: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      calls.push({ name, args });
      return body(...args);
    };
  const stubs = {
    validateTarget: log('validateTarget', async () => undefined),
    preflight: log('preflight', async () => ({ ok: true, checks: [] })),
    checkTarget: log('checkTarget', async () => {
      if (script.invalid) throw ApplicationFailure.nonRetryable('version "v2" for shop/staging: not a tag', 'InvalidTarget');
      return { ok: true, checks: [] };
    }),
    recordStart: log('recordStart', async () => ({ current: V1 })),
    findRollbackRelease: log('findRollbackRelease', async () => (script.recorded ? { current: V1, known: ['v1'] } : { known: [] })),
    deployVersion: log('deployVersion', async (_t: Target, version: string) => {
      // Heartbeats carry the cancellation to the activity; sleep then rejects.
      for (let i = 0; script.deployBlocks && i < 240; i++) {
        Context.current().heartbeat();
        await Context.current().sleep(500);
      }
      return started(version);
    }),
    rollbackRelease: log('rollbackRelease', async (_t: Target, release: { version: string }) => started(release.version)),
    probeReadiness: log('probeReadiness', async (_t: Target, s: DeployStarted) =>
      (script.readiness?.(s) ?? 'ready') === 'ready' ? { state: 'ready' as const, detail: 'up' } : { state: 'pending' as const, detail: 'starting' },
    ),
    awaitRelease: log('awaitRelease', async (_t: Target, s: DeployStarted, timeoutSeconds: number) => {
      const until = Date.now() + timeoutSeconds * 1_000;
      while ((script.readiness?.(s) ?? 'ready') === 'pending') {
        if (Date.now() > until) return { state: 'failed' as const, detail: `not ready after ${timeoutSeconds}s` };
        Context.current().heartbeat();
        await Context.current().sleep(100);
      }
      return { state: 'ready' as const, detail: 'finished' };
    }),
    probeHealth: log('probeHealth', async () => {
      if (script.healthThrows) throw ApplicationFailure.nonRetryable('the provider kept failing', 'ProviderInputError');
      return { ok: script.healthy ?? true, detail: script.healthy === false ? 'refused' : 'ok', source: 'tcp' as const };
    }),
    fetchLogs: log('fetchLogs', async () => 'the logs'),
    fetchStatus: log('fetchStatus', async () => ({ state: 'running' as const, detail: 'up' })),
    stopTarget: log('stopTarget', async () => undefined),
    startTarget: log('startTarget', async (_t: Target, current: ReleaseData | null) => started(current?.version ?? 'unknown')),
    removeTarget: log('removeTarget', async (t: Target) => {
      const ms = script.slowRemoval?.[t.fraise];
      if (ms) {
        const until = Date.now() + ms;
        while (Date.now() < until) {
          Context.current().heartbeat();
          await Context.current().sleep(100);
        }
      }
      removed.push(t.fraise);
    }),
    cancelOperation: log('cancelOperation', async () => ({ cancelled: true, detail: 'the queued build was cancelled' })),
    pruneProviderReleases: log('pruneProviderReleases', async () => {
      if (script.pruneFails) throw ApplicationFailure.nonRetryable('docker is away', 'ProviderInputError');
      return { removed: ['app:v0'], kept: ['app:v1'], detail: 'removed 1 old image(s)' };
    }),
    recordRelease: log('recordRelease', async () => undefined),
    recordResult: log('recordResult', async () => undefined),
    recordSucceeded: log('recordSucceeded', async () => undefined),
    findExpired: log('findExpired', async () => ({ items: script.expired ?? [], full: false })),
    markCleaned: log('markCleaned', async () => undefined),
    reconcileRecords: log('reconcileRecords', async () => ['wf-stuck run r1: terminated']),
  };
  return stubs satisfies Record<Exclude<keyof FraisierActivities, keyof ProjectActivities>, unknown>;
}

const names = () => calls.map((c) => c.name);

function startDeploy(input: Partial<DeployInput> = {}) {
  return client.workflow.start(deploy, {
    workflowId: `rules-${randomUUID()}`,
    taskQueue,
    args: [{ target, version: 'v2', requestedBy: 'rules', ...input }],
    workflowExecutionTimeout: '2 minutes',
  });
}

async function failureOf(result: Promise<unknown>): Promise<{ message: string; outcome?: OperationOutcome; cause: unknown }> {
  const err = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  const outcome = cause instanceof ApplicationFailure ? (cause.details?.[0] as OperationOutcome | undefined) : undefined;
  return { message: cause?.message ?? '', cause, ...(outcome ? { outcome } : {}) };
}

beforeAll(async () => {
  const address = inject('temporalAddress');
  const connection = await NativeConnection.connect({ address });
  worker = await Worker.create({ connection, taskQueue, activities: stubActivities(), workflowBundle: { code: inject('workflowBundleCode') } });
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address }) });
});

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await client?.connection.close();
});

describe('deploy', () => {
  it('after a success: records the release with its result in one activity, then prunes the provider side', async () => {
    script = {};
    calls.length = 0;
    const outcome = await (await startDeploy()).result();
    expect(outcome).toMatchObject({ status: 'succeeded', version: 'v2', previousVersion: 'v1' });
    expect(names()).toEqual(['checkTarget', 'recordStart', 'deployVersion', 'probeReadiness', 'probeHealth', 'recordSucceeded', 'pruneProviderReleases']);
    expect(calls[0]?.args).toEqual([target, 'v2']);
    expect(calls.find((c) => c.name === 'recordSucceeded')?.args).toEqual([target, { version: 'v2', artifact: { image: 'app:v2' } }, null]);
  });

  it('a target the worker refuses fails the validate step, and pre-flight is not run', async () => {
    script = { invalid: true };
    calls.length = 0;
    const handle = await startDeploy();
    const { cause } = await failureOf(handle.result());
    expect((cause as { cause?: ApplicationFailure }).cause).toMatchObject({ type: 'InvalidTarget', message: expect.stringContaining('not a tag') });
    expect(names()).toEqual(['checkTarget']); // non-retryable: tried once
    const progress = await handle.query(progressQuery);
    expect(progress.steps.slice(0, 2)).toEqual([
      { name: 'validate', state: 'failed', detail: expect.stringContaining('not a tag') },
      { name: 'preflight', state: 'skipped', detail: 'not run: the target is invalid' },
    ]);
  });

  it('a failing prune never fails the deploy', async () => {
    script = { pruneFails: true };
    calls.length = 0;
    const outcome = await (await startDeploy()).result();
    expect(outcome.status).toBe('succeeded');
    expect(names().filter((n) => n === 'pruneProviderReleases')).toHaveLength(1); // non-retryable: tried once
    expect(names().at(-2)).toBe('recordSucceeded');
  });

  it('the automatic rollback waits for the previous release with the deploy\'s ready timeout, not 300 s', async () => {
    // v2 comes up but fails its health check; v1, put back, never comes up.
    script = { healthy: false, readiness: (s) => (s.version === 'v1' ? 'pending' : 'ready') };
    calls.length = 0;
    const handle = await startDeploy({ readyTimeoutSeconds: 2 });
    const { outcome } = await failureOf(handle.result());
    expect(outcome?.status).toBe('failed');
    expect(outcome?.detail).toMatch(/automatic rollback to v1 failed too: previous release not ready: not ready after 2s/);
    expect(calls.find((c) => c.name === 'rollbackRelease')?.args[1]).toMatchObject({ version: 'v1' });
    expect(names()).not.toContain('pruneProviderReleases');
  });

  it('cancelled during the deploy step: asks the provider to stop its work (nothing started yet), then records the end', async () => {
    script = { deployBlocks: true };
    calls.length = 0;
    const handle = await startDeploy();
    expect(await waitForStep(handle, ['deploy'])).toBe('deploy');
    await handle.cancel();
    await failureOf(handle.result());
    const cancel = calls.find((c) => c.name === 'cancelOperation');
    expect(cancel?.args).toEqual([target, null]);
    const result = calls.filter((c) => c.name === 'recordResult').at(-1)?.args[0] as { status: string; error: string };
    expect(result.status).toBe('failed');
    expect(result.error).toBe(`${CANCELLED_MESSAGE} (the queued build was cancelled)`);
    expect(names().indexOf('cancelOperation')).toBeLessThan(names().lastIndexOf('recordResult'));
  });

  it('cancelled while waiting for the release: the provider is told which deployment to stop', async () => {
    script = { readiness: () => 'pending' };
    calls.length = 0;
    const handle = await startDeploy({ readyTimeoutSeconds: 60 });
    expect(await waitForStep(handle, ['wait-ready'])).toBe('wait-ready');
    await handle.cancel();
    await failureOf(handle.result());
    expect(calls.find((c) => c.name === 'cancelOperation')?.args).toEqual([target, started('v2')]);
  });
});

describe('a failure no step turned into an outcome', () => {
  it('is recorded before the workflow fails, so no record stays "running"', async () => {
    script = { healthThrows: true };
    calls.length = 0;
    const { message } = await failureOf((await startDeploy()).result());
    expect(message).toMatch(/Activity task failed/);
    expect(calls.at(-1)).toMatchObject({ name: 'recordResult', args: [{ status: 'failed', error: expect.stringContaining('the provider kept failing') }] });
  });
});

describe('waiting for an asynchronous deployment', () => {
  it('is one activity, however long; no timers between looks', async () => {
    let up = false;
    script = { async: true, readiness: () => (up ? 'ready' : 'pending') };
    calls.length = 0;
    const handle = await startDeploy({ readyTimeoutSeconds: 60 });
    expect(await waitForStep(handle, ['wait-ready'])).toBe('wait-ready');
    await new Promise((r) => setTimeout(r, 1_500));
    up = true;
    expect(await handle.result()).toMatchObject({ status: 'succeeded' });
    expect(names().filter((n) => n === 'awaitRelease')).toHaveLength(1);
    expect(names()).not.toContain('probeReadiness');
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(0);
  });

  it('a pushed end cuts the wait short, once the provider confirms it', async () => {
    let up = false;
    script = { async: true, readiness: () => (up ? 'ready' : 'pending') };
    calls.length = 0;
    const handle = await startDeploy({ readyTimeoutSeconds: 60 });
    expect(await waitForStep(handle, ['wait-ready'])).toBe('wait-ready');
    await new Promise((r) => setTimeout(r, 300));
    // A wrong hint (another deployment, then this one still building): confirmed, and the wait goes on.
    await handle.signal(deploymentEndedSignal, { providerRef: 'dep-other' });
    await handle.signal(deploymentEndedSignal, { providerRef: 'dep-v2' });
    await new Promise((r) => setTimeout(r, 500));
    up = true;
    await handle.signal(deploymentEndedSignal, { providerRef: 'dep-v2' });
    expect(await handle.result()).toMatchObject({ status: 'succeeded' });
    expect(names().filter((n) => n === 'probeReadiness').length).toBeGreaterThanOrEqual(1);
    // The looking activity was asked to stop (each time a hint came), then confirmed with a quick probe.
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.activityTaskCancelRequestedEventAttributes).length).toBeGreaterThanOrEqual(2);
  });
});

describe('stop and start', () => {
  const startPower = (action: 'start' | 'stop') =>
    client.workflow.start(power, {
      workflowId: `rules-${randomUUID()}`,
      taskQueue,
      args: [{ target, action, requestedBy: 'rules', readyTimeoutSeconds: 2 }],
      workflowExecutionTimeout: '1 minute',
    });

  it('stop: stops the target, says which release it was on, records nothing', async () => {
    script = { recorded: true };
    calls.length = 0;
    const outcome = await (await startPower('stop')).result();
    expect(outcome).toMatchObject({ operation: 'stop', status: 'succeeded', version: 'v1' });
    expect(names()).toEqual(['validateTarget', 'findRollbackRelease', 'stopTarget']);
  });

  it('start: starts the recorded release, then waits until it is ready and healthy', async () => {
    script = { recorded: true };
    calls.length = 0;
    const outcome = await (await startPower('start')).result();
    expect(outcome).toMatchObject({ operation: 'start', status: 'succeeded', version: 'v1', detail: expect.stringContaining('running again on v1') });
    expect(names()).toEqual(['validateTarget', 'findRollbackRelease', 'startTarget', 'probeReadiness', 'probeHealth']);
    expect(calls.find((c) => c.name === 'startTarget')?.args[1]).toMatchObject({ version: 'v1' });
  });

  it('start: an unhealthy target fails the operation, with its logs, and nothing is rolled back', async () => {
    script = { recorded: true, healthy: false };
    calls.length = 0;
    const { cause, outcome } = await failureOf((await startPower('start')).result());
    expect((cause as ApplicationFailure).type).toBe('StartFailed');
    expect(outcome).toMatchObject({ operation: 'start', status: 'failed', logs: 'the logs', detail: expect.stringMatching(/^health check failed/) });
    expect(names()).not.toContain('rollbackRelease');
  });

  it('start cancelled while the provider builds: its deployment is cancelled', async () => {
    script = { recorded: true, async: true, readiness: () => 'pending' };
    calls.length = 0;
    const handle = await startPower('start');
    expect(await waitForStep(handle, ['wait-ready'])).toBe('wait-ready');
    await handle.cancel();
    await failureOf(handle.result());
    expect(calls.find((c) => c.name === 'cancelOperation')?.args[1]).toMatchObject({ providerRef: 'dep-v1' });
  });
});

describe('the lock holder', () => {
  it('is "free" only when Temporal says the workflow is not there; any other failure is said, exit code 2', async () => {
    const target2 = { ...target, fraise: `free-${process.pid}` };
    expect(await lockHolder(client, target2)).toBeUndefined();
    const elsewhere = new Client({ connection: client.connection, namespace: `no-such-namespace-${process.pid}` });
    const err = await lockHolder(elsewhere, target2).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.badInput);
    expect((err as CliError).message).toMatch(/cannot tell who holds docker_compose:free-\d+:test: Temporal answered .*namespace/i);
  });
});

describe('cleanup', () => {
  it('first reconciles records left running by closed workflows, and reports them', async () => {
    calls.length = 0;
    const summary = await client.workflow.execute(cleanup, { workflowId: `rules-cleanup-${randomUUID()}`, taskQueue, args: [{}], workflowExecutionTimeout: '1 minute' });
    expect(summary.reconciled).toEqual(['wf-stuck run r1: terminated']);
    expect(names().slice(0, 2)).toEqual(['reconcileRecords', 'findExpired']);
  });

  it('keeps every slot busy: while one target is slow, the other slots clean the rest', async () => {
    calls.length = 0;
    removed.length = 0;
    const item = (fraise: string): CleanupItem => ({
      target: { ...target, fraise, environment: 'preview' },
      keys: [{ workflowId: `docker_compose:${fraise}:preview`, runId: `run-${fraise}` }],
      superseded: false,
      versions: ['p1'],
    });
    script = { expired: ['slow', 'a', 'b', 'c', 'd'].map(item), slowRemoval: { slow: 3_000 } };
    try {
      const summary = await client.workflow.execute(cleanup, {
        workflowId: `rules-cleanup-${randomUUID()}`,
        taskQueue,
        args: [{ concurrency: 2 }],
        workflowExecutionTimeout: '1 minute',
      });
      expect(summary.cleaned).toHaveLength(5);
      // Batch by batch, c and d would have waited for the slow target; the second slot cleaned them meanwhile.
      expect(removed).toEqual(['a', 'b', 'c', 'd', 'slow']);
    } finally {
      script = {};
    }
  });

  it('a dry run reconciles nothing', async () => {
    calls.length = 0;
    const summary = await client.workflow.execute(cleanup, { workflowId: `rules-cleanup-${randomUUID()}`, taskQueue, args: [{ dryRun: true }], workflowExecutionTimeout: '1 minute' });
    expect(summary.reconciled).toBeUndefined();
    expect(names()).toEqual(['findExpired']);
  });
});
