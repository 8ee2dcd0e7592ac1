/** The activities that read and write the records (PostgreSQL or PGlite). Every write is idempotent. */
import { currentOperationKey as currentKey } from './operationKey';
import type { CleanupItem, OperationKey, ReleaseSummary } from '../domain/operations';
import type { ReleaseData } from '../domain/release';
import type { Target } from '../domain/target';
import type { DeploymentRecord, Operation, OperationResult, Records, ReleaseRecord } from '../db/types';

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

/** Releases a target keeps recorded whatever its `retain`: the current one and the previous one. */
export const MIN_RELEASES_KEPT = 2;

function toSummary(release: ReleaseRecord | undefined): ReleaseSummary | undefined {
  if (!release) return undefined;
  return { version: release.version, artifact: release.artifact, recordedAt: release.createdAt.toISOString() };
}

export function createRecordActivities(deps: { records: Records }) {
  const { records } = deps;
  /** Records the release this run put in place and drops the rows beyond the target's `retain` (never the current or the previous). */
  const recordRelease = async (target: Target, release: ReleaseData): Promise<void> => {
    await records.recordRelease({ ...currentKey(), ...target, release, createdAt: new Date() });
    await records.pruneReleases(target, Math.max(MIN_RELEASES_KEPT, target.retain));
  };
  const recordResult = async (input: RecordResultInput): Promise<void> => {
    await records.recordResult(currentKey(), { ...input, finishedAt: new Date() });
  };
  return {
    recordRelease,
    recordResult,

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
      const release = toSummary(toVersion === null ? await records.previousRelease(target) : await records.releaseByVersion(target, toVersion));
      const history = await records.history(target, 50);
      const known = [...new Set(history.filter((h) => h.status === 'succeeded').map((h) => h.version))];
      return { current, release, known };
    },


    /** recordRelease then recordResult (succeeded), in one activity: both writes are idempotent, so a retry redoes both. */
    async recordSucceeded(target: Target, release: ReleaseData, url: string | null): Promise<void> {
      await recordRelease(target, release);
      await recordResult({ status: 'succeeded', url, error: null, logs: null });
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
        const superseded = latest !== undefined && !rows.some((r) => r.workflowId === latest.workflowId && r.runId === latest.runId);
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
