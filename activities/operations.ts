import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type {
  DeployStarted,
  HealthReport,
  PreflightReport,
  Provider,
  ProviderContext,
  Readiness,
  ReleaseData,
  ServiceStatus,
  Target,
} from './providers/contract';
import { ProviderInputError } from './providers/contract';
import type { DeploymentRecord, Operation, OperationKey, OperationResult, Records, ReleaseRecord } from '../db/types';
import type { ProviderSource } from './providerSource';

/** What the workflows learn of a recorded release. */
export interface ReleaseSummary extends ReleaseData {
  recordedAt: string;
}

export interface RecordStartInput {
  target: Target;
  operation: Operation;
  version: string;
  /** What ran before; null lets the activity take the current recorded release. */
  previousVersion: string | null;
  requestedBy: string;
  ttlSeconds: number | null;
}

export interface RecordResultInput {
  status: OperationResult['status'];
  url: string | null;
  error: string | null;
  logs: string | null;
}

/** One group of expired ephemeral records that share a target. */
export interface CleanupItem {
  target: Target;
  keys: OperationKey[];
  /** True when a later, non-ephemeral operation replaced it: only the records are marked, the service stays. */
  superseded: boolean;
  versions: string[];
}

const HEARTBEAT_EVERY_MS = 5_000;

function currentKey(): OperationKey {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw ApplicationFailure.nonRetryable('records are written only by activities that a workflow runs', 'NoWorkflow');
  return { workflowId: execution.workflowId, runId: execution.runId };
}

function toSummary(release: ReleaseRecord | undefined): ReleaseSummary | undefined {
  if (!release) return undefined;
  return { version: release.version, artifact: release.artifact, recordedAt: release.createdAt.toISOString() };
}

/**
 * Runs a provider call inside an activity: heartbeats while it runs (so a dead worker is noticed within the
 * heartbeat timeout), forwards progress, and turns input errors into non-retryable failures.
 */
async function withProvider<T>(
  providers: ProviderSource,
  target: Target,
  body: (provider: Provider, ctx: ProviderContext) => Promise<T>,
): Promise<T> {
  const activity = Context.current();
  let lastMessage = '';
  const ctx: ProviderContext = {
    target,
    signal: activity.cancellationSignal,
    log: (message) => {
      lastMessage = message;
      activity.log.info(message);
      activity.heartbeat(message);
    },
  };
  const beat = setInterval(() => activity.heartbeat(lastMessage), HEARTBEAT_EVERY_MS);
  try {
    const provider = await providers.get(target.provider);
    return await body(provider, ctx);
  } catch (err) {
    if (err instanceof ProviderInputError) {
      throw ApplicationFailure.nonRetryable(err.message, 'ProviderInputError');
    }
    throw err;
  } finally {
    clearInterval(beat);
  }
}

export function createActivities(deps: { records: Records; providers: ProviderSource }) {
  const { records, providers } = deps;

  return {
    /** Checks the target names a provider this worker can run and that its config is still valid. */
    async validateTarget(target: Target): Promise<void> {
      const problem = await providers.validate(target);
      if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidTarget');
    },

    async preflight(target: Target): Promise<PreflightReport> {
      return withProvider(providers, target, (p, ctx) => p.preflight(ctx));
    },

    /** Records the start of this workflow run's operation; returns the release running before it. */
    async recordStart(input: RecordStartInput): Promise<{ current?: ReleaseSummary }> {
      const key = currentKey();
      // Read before writing: a retried attempt sees the same release (releases are recorded only on success).
      const current = toSummary(await records.currentRelease(input.target));
      await records.recordStart({
        ...key,
        target: input.target,
        operation: input.operation,
        version: input.version,
        previousVersion: input.previousVersion ?? current?.version ?? null,
        requestedBy: input.requestedBy,
        ephemeral: input.ttlSeconds !== null,
        ttlSeconds: input.ttlSeconds,
        startedAt: new Date(),
      });
      return current ? { current } : {};
    },

    /** The recorded releases a rollback may go to: the current one, and the one asked for (or the previous one). */
    async findRollbackRelease(
      target: Target,
      toVersion: string | null,
    ): Promise<{ current?: ReleaseSummary; release?: ReleaseSummary; known: string[] }> {
      const current = toSummary(await records.currentRelease(target));
      const release = toSummary(
        toVersion === null ? await records.previousRelease(target) : await records.releaseByVersion(target, toVersion),
      );
      const history = await records.history(target, 50);
      const known = [...new Set(history.filter((h) => h.status === 'succeeded').map((h) => h.version))];
      return { current, release, known };
    },

    async deployVersion(target: Target, version: string): Promise<DeployStarted> {
      return withProvider(providers, target, (p, ctx) => p.deploy(ctx, version));
    },

    async rollbackRelease(target: Target, release: ReleaseData): Promise<DeployStarted> {
      return withProvider(providers, target, (p, ctx) => p.rollback(ctx, release));
    },

    async probeReadiness(target: Target, started: DeployStarted): Promise<Readiness> {
      return withProvider(providers, target, (p, ctx) => p.readiness(ctx, started));
    },

    async probeHealth(target: Target): Promise<HealthReport> {
      return withProvider(providers, target, (p, ctx) => p.health(ctx));
    },

    async fetchLogs(target: Target, tail: number): Promise<string> {
      return withProvider(providers, target, (p, ctx) => p.logs(ctx, tail));
    },

    async fetchStatus(target: Target): Promise<ServiceStatus> {
      return withProvider(providers, target, (p, ctx) => p.status(ctx));
    },

    async stopTarget(target: Target): Promise<void> {
      await withProvider(providers, target, (p, ctx) => p.stop(ctx));
    },

    async removeTarget(target: Target): Promise<void> {
      await withProvider(providers, target, (p, ctx) => p.remove(ctx));
    },

    /** Records the release this run put in place and drops those beyond the target's `retain`. */
    async recordRelease(target: Target, release: ReleaseData): Promise<void> {
      await records.recordRelease({ ...currentKey(), ...target, release, createdAt: new Date() });
      await records.pruneReleases(target, target.retain);
    },

    async recordResult(input: RecordResultInput): Promise<void> {
      await records.recordResult(currentKey(), { ...input, finishedAt: new Date() });
    },

    /**
     * Expired ephemeral deployments (at most `limit` records), grouped by target. A group whose target has had
     * a later operation that is not one of them is marked superseded: cleaning it must not remove what
     * replaced it. `full` says the limit was reached, so more may be waiting.
     */
    async findExpired(thresholdSeconds: number, limit: number): Promise<{ items: CleanupItem[]; full: boolean }> {
      const expired = await records.findExpiredEphemeral(new Date(), thresholdSeconds, limit);
      const groups = new Map<string, DeploymentRecord[]>();
      for (const row of expired) {
        const id = `${row.provider}\u0000${row.fraise}\u0000${row.environment}`;
        groups.set(id, [...(groups.get(id) ?? []), row]);
      }
      const items: CleanupItem[] = [];
      for (const rows of groups.values()) {
        const newest = rows[rows.length - 1];
        if (!newest) continue;
        const latest = await records.latestOperation(newest);
        const superseded =
          latest !== undefined && !rows.some((r) => r.workflowId === latest.workflowId && r.runId === latest.runId);
        items.push({
          target: newest.target,
          keys: rows.map((r) => ({ workflowId: r.workflowId, runId: r.runId })),
          superseded,
          versions: rows.map((r) => r.version),
        });
      }
      return { items, full: expired.length === limit };
    },

    async markCleaned(keys: OperationKey[]): Promise<void> {
      await records.markCleaned(keys, new Date());
    },
  };
}

export type FraisierActivities = ReturnType<typeof createActivities>;
