/**
 * Project (tenant) operations, one workflow type each, all under the project's lock (its workflow ID, keyed on
 * backend and id): provision, stop, start, delete, restore. No secret ever enters them: they pass the project's
 * id and settings; the activities load and decrypt what they need. No backend name appears here.
 */
import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { ProjectActivities } from '../activities/projects/activities';
import type { ProjectHealth, ProjectOperation, ProjectOperationInput, ProjectOutcome, ProjectRef } from '../domain/projectOperations';
import type { ProjectsSettings, ProjectSummary } from '../domain/projects';
import { messageOf } from './failure';
import { Progress } from './progress';
import { probeUntilOk } from './waiting';

const NON_RETRYABLE = ['ProjectInputError'];

/** Records: short, retried patiently; every write is idempotent. */
const records = proxyActivities<ProjectActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Changes on the stack (compose up/stop/start/down, Coolify calls): bounded, heartbeating, few attempts. */
const stack = proxyActivities<ProjectActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** One look: a health probe, the stack's state. */
const look = proxyActivities<ProjectActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

const DEFAULT_HEALTH_INTERVAL_SECONDS = 2;

function outcome(operation: ProjectOperation, summary: ProjectSummary, detail: string): ProjectOutcome {
  return {
    operation,
    id: summary.id,
    backend: summary.backend,
    status: summary.status,
    apiUrl: summary.apiUrl,
    dbUrl: summary.dbUrl,
    ports: summary.ports,
    detail,
  };
}

function failure(operation: ProjectOperation, project: ProjectRef, reason: string, summary: ProjectSummary | null): never {
  const details = summary ? outcome(operation, summary, reason) : undefined;
  throw ApplicationFailure.nonRetryable(`${operation} of project ${project.id} (${project.backend}) failed: ${reason}`, 'ProjectFailed', details);
}

/** Probes the project's API with durable timers between looks, until healthy or its ready timeout has gone by. */
async function waitHealthy(project: ProjectRef, settings: ProjectsSettings, progress: Progress): Promise<ProjectHealth> {
  const intervalMs = Math.max(1, settings.healthCheck?.intervalSeconds ?? DEFAULT_HEALTH_INTERVAL_SECONDS) * 1_000;
  const timeoutMs = settings.readyTimeoutSeconds * 1_000;
  const { report, probes, waitedMs } = await probeUntilOk(() => look.probeProject(project, settings), { intervalMs, timeoutMs }, progress);
  return report.ok ? report : { ok: false, detail: `not healthy after ${Math.round(waitedMs / 1000)}s (${probes} probes): ${report.detail}` };
}

/**
 * Brings the stack up and waits until it is healthy, then records it running. If it gives up, it removes what it
 * started (with the volumes too when this run created the project), records the project failed, and says so.
 */
async function bringUp(
  operation: ProjectOperation,
  input: ProjectOperationInput,
  progress: Progress,
  created: boolean,
): Promise<ProjectOutcome> {
  const { project, settings } = input;
  try {
    await progress.step('start-stack', () => stack.upStack(project, settings));
    const health = await progress.step('wait-healthy', () => waitHealthy(project, settings, progress), (h) => h.detail);
    if (!health.ok) throw ApplicationFailure.nonRetryable(health.detail, 'ProjectUnhealthy');
  } catch (err) {
    const reason = messageOf(err);
    const summary = await CancellationScope.nonCancellable(async () => {
      progress.start('compensate');
      const removed = await stack.downStack(project, { volumes: created }, settings).then(
        () => `removed its containers and network${created ? ' and volumes' : ''}`,
        (e: unknown) => `removing its containers failed too: ${messageOf(e)}`,
      );
      progress.done('compensate', removed);
      const failed = await records.markProject(project, 'failed', { error: `${operation}: ${reason}` });
      return { failed, removed };
    });
    if (isCancellation(err)) throw err;
    failure(operation, project, `${reason}; ${summary.removed}`, summary.failed);
  }
  const summary = await progress.step('record-result', () => records.markProject(project, 'running', {}));
  return outcome(operation, summary, `project ${project.id} is running${summary.apiUrl ? ` at ${summary.apiUrl}` : ''}`);
}

/**
 * Provision: the record (secrets generated once, ports allocated once: a retried provision reuses them), the
 * stack, the wait until healthy. A project already provisioned and healthy is left as it is.
 */
export async function provisionProject(input: ProjectOperationInput): Promise<ProjectOutcome> {
  const { project, settings } = input;
  const progress = new Progress('provision', ['record', 'start-stack', 'wait-healthy', 'record-result']);
  const { created, summary } = await progress.step('record', () => records.ensureProject(project, settings), (r) =>
    r.created ? `new project, ports ${JSON.stringify(r.summary.ports)}` : `known project (${r.summary.status}), its secrets and ports kept`,
  );
  if (!created && summary.status === 'running') {
    const health = await look.probeProject(project, settings);
    if (health.ok) {
      progress.skip('start-stack', 'already running and healthy');
      progress.skip('wait-healthy', health.detail);
      progress.skip('record-result', 'nothing changed');
      return outcome('provision', summary, `project ${project.id} was already provisioned and is healthy: nothing changed`);
    }
  }
  return bringUp('provision', input, progress, created);
}

/** Restore: re-creates a project whose stack is gone or broken from its stored template, ports and secrets. */
export async function restoreProject(input: ProjectOperationInput): Promise<ProjectOutcome> {
  const { project, settings } = input;
  const progress = new Progress('restore', ['check', 'start-stack', 'wait-healthy', 'record-result']);
  const summary = await records.describeProject(project);
  if (summary.purged) failure('restore', project, 'its data was purged (delete --purge): provision it anew instead', summary);
  const state = await progress.step('check', () => look.stackState(project, settings), (s) => `stack ${s}`);
  if (state === 'running' && summary.status === 'running') {
    const health = await look.probeProject(project, settings);
    if (health.ok) {
      progress.skip('start-stack', 'healthy');
      progress.skip('wait-healthy', health.detail);
      progress.skip('record-result', 'nothing changed');
      return outcome('restore', summary, `project ${project.id} is healthy: left as it is`);
    }
  }
  return bringUp('restore', input, progress, false);
}

/** Stop: the whole stack; the record says stopped. */
export async function stopProject(input: ProjectOperationInput): Promise<ProjectOutcome> {
  const { project } = input;
  const progress = new Progress('stop', ['check', 'stop-stack', 'record-result']);
  const before = await progress.step('check', () => records.describeProject(project), (s) => s.status);
  if (before.status === 'deleted') failure('stop', project, 'it is deleted', before);
  await progress.step('stop-stack', () => stack.stopStack(project, input.settings));
  const summary = await progress.step('record-result', () => records.markProject(project, 'stopped', {}));
  return outcome('stop', summary, `project ${project.id} is stopped`);
}

/** Start: the stopped stack again, then the wait until healthy. */
export async function startProject(input: ProjectOperationInput): Promise<ProjectOutcome> {
  const { project, settings } = input;
  const progress = new Progress('start', ['check', 'start-stack', 'wait-healthy', 'record-result']);
  const before = await progress.step('check', () => records.describeProject(project), (s) => s.status);
  if (before.status === 'deleted') failure('start', project, 'it is deleted: restore it (if not purged) or provision it', before);
  try {
    await progress.step('start-stack', () => stack.startStack(project, settings));
  } catch (err) {
    if (isCancellation(err)) throw err;
    failure('start', project, `${messageOf(err)}; \`fraisier project restore ${project.id}\` re-creates a lost stack`, before);
  }
  const health = await progress.step('wait-healthy', () => waitHealthy(project, settings, progress), (h) => h.detail);
  if (!health.ok) {
    const summary = await records.markProject(project, 'failed', { error: `start: ${health.detail}` });
    failure('start', project, health.detail, summary);
  }
  const summary = await progress.step('record-result', () => records.markProject(project, 'running', {}));
  return outcome('start', summary, `project ${project.id} is running again${summary.apiUrl ? ` at ${summary.apiUrl}` : ''}`);
}

/** Delete: stop, remove containers and network (and volumes with purge); the record is kept, marked deleted. */
export async function deleteProject(input: ProjectOperationInput): Promise<ProjectOutcome> {
  const { project } = input;
  const purge = input.purge === true;
  const progress = new Progress('delete', ['check', 'remove-stack', 'record-result']);
  await progress.step('check', () => records.describeProject(project), (s) => s.status);
  await progress.step('remove-stack', () => stack.downStack(project, { volumes: purge }, input.settings), () => (purge ? 'containers, network and volumes' : 'containers and network; volumes kept'));
  const summary = await progress.step('record-result', () => records.markProject(project, 'deleted', { purged: purge }));
  return outcome(
    'delete',
    summary,
    purge ? `project ${project.id} is deleted with its data; its ports are free` : `project ${project.id} is deleted; its volumes are kept: \`fraisier project restore ${project.id}\` brings it back`,
  );
}
