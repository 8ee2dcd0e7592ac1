import { sql, type Kysely, type Selectable } from 'kysely';
import type { ReleaseData, Target, TargetKey } from '../activities/providers/contract';
import type { Database, DeploymentsTable, ReleasesTable } from './schema';
import type {
  DeploymentRecord,
  NewOperation,
  NewRelease,
  OperationKey,
  OperationResult,
  Records,
  ReleaseRecord,
} from './types';

type DeploymentRow = Selectable<DeploymentsTable>;
type ReleaseRow = Selectable<ReleasesTable>;

/** pg parses jsonb; a driver or proxy that hands back the text is handled too. */
function parseJson<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}

function toNumberOrNull(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}

function toDeployment(row: DeploymentRow): DeploymentRecord {
  return {
    workflowId: row.workflow_id,
    runId: row.run_id,
    fraise: row.fraise,
    environment: row.environment,
    provider: row.provider,
    operation: row.operation,
    version: row.version,
    previousVersion: row.previous_version,
    status: row.status,
    url: row.url,
    error: row.error,
    logs: row.logs,
    requestedBy: row.requested_by,
    ephemeral: row.ephemeral,
    ttlSeconds: row.ttl_seconds,
    expiresAt: toDateOrNull(row.expires_at),
    startedAt: toDate(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
    durationMs: toNumberOrNull(row.duration_ms),
    cleanedAt: toDateOrNull(row.cleaned_at),
    target: parseJson<Target>(row.target),
  };
}

function toRelease(row: ReleaseRow): ReleaseRecord {
  return {
    workflowId: row.workflow_id,
    runId: row.run_id,
    fraise: row.fraise,
    environment: row.environment,
    provider: row.provider,
    version: row.version,
    artifact: parseJson<ReleaseData['artifact']>(row.artifact),
    createdAt: toDate(row.created_at),
  };
}

/**
 * The records API on kysely. Every method is one SQL statement (no explicit transactions: the embedded
 * server multiplexes its clients onto one session), and every write is idempotent on
 * (workflow_id, run_id) so a retried activity never duplicates or corrupts a row.
 */
export function createRecords(db: Kysely<Database>): Records {
  const releasesOf = (target: TargetKey) =>
    db
      .selectFrom('releases')
      .selectAll()
      .where('fraise', '=', target.fraise)
      .where('environment', '=', target.environment)
      .where('provider', '=', target.provider);

  /** Newest first; ties broken by (workflow_id, run_id) so the order is total. */
  const newestReleasesOf = (target: TargetKey) =>
    releasesOf(target).orderBy('created_at', 'desc').orderBy('workflow_id', 'desc').orderBy('run_id', 'desc');

  const deploymentsOf = (filter: Partial<TargetKey>) => {
    let q = db.selectFrom('deployments').selectAll();
    if (filter.fraise !== undefined) q = q.where('fraise', '=', filter.fraise);
    if (filter.environment !== undefined) q = q.where('environment', '=', filter.environment);
    if (filter.provider !== undefined) q = q.where('provider', '=', filter.provider);
    return q;
  };

  return {
    async recordStart(op: NewOperation): Promise<void> {
      const expiresAt = op.ttlSeconds === null ? null : new Date(op.startedAt.getTime() + op.ttlSeconds * 1000);
      await db
        .insertInto('deployments')
        .values({
          workflow_id: op.workflowId,
          run_id: op.runId,
          fraise: op.target.fraise,
          environment: op.target.environment,
          provider: op.target.provider,
          operation: op.operation,
          version: op.version,
          previous_version: op.previousVersion,
          status: 'running',
          requested_by: op.requestedBy,
          ephemeral: op.ephemeral,
          ttl_seconds: op.ttlSeconds,
          expires_at: expiresAt,
          started_at: op.startedAt,
          target: JSON.stringify(op.target),
        })
        .onConflict((oc) => oc.columns(['workflow_id', 'run_id']).doNothing())
        .execute();
    },

    async recordResult(key: OperationKey, result: OperationResult): Promise<void> {
      const finishedAt = result.finishedAt;
      const updated = await db
        .updateTable('deployments')
        .set({
          status: result.status,
          url: result.url,
          error: result.error,
          logs: result.logs,
          finished_at: finishedAt,
          duration_ms: sql<number>`greatest(0, round(extract(epoch from (${finishedAt}::timestamptz - started_at)) * 1000))::bigint`,
        })
        .where('workflow_id', '=', key.workflowId)
        .where('run_id', '=', key.runId)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) {
        // Losing a result silently would leave the operation "running" forever; let the caller retry.
        throw new Error(
          `no deployment recorded for workflow ${key.workflowId} run ${key.runId}: recordStart must come first`,
        );
      }
    },

    async recordRelease(release: NewRelease): Promise<void> {
      await db
        .insertInto('releases')
        .values({
          workflow_id: release.workflowId,
          run_id: release.runId,
          fraise: release.fraise,
          environment: release.environment,
          provider: release.provider,
          version: release.release.version,
          artifact: JSON.stringify(release.release.artifact),
          created_at: release.createdAt,
        })
        .onConflict((oc) => oc.columns(['workflow_id', 'run_id']).doNothing())
        .execute();
    },

    async currentRelease(target: TargetKey): Promise<ReleaseRecord | undefined> {
      const row = await newestReleasesOf(target).limit(1).executeTakeFirst();
      return row === undefined ? undefined : toRelease(row);
    },

    async previousRelease(target: TargetKey): Promise<ReleaseRecord | undefined> {
      // One statement: the newest release whose version is not the newest release's version.
      const current = newestReleasesOf(target).clearSelect().select('version').limit(1);
      const row = await newestReleasesOf(target).where('version', '<>', current).limit(1).executeTakeFirst();
      return row === undefined ? undefined : toRelease(row);
    },

    async releaseByVersion(target: TargetKey, version: string): Promise<ReleaseRecord | undefined> {
      const row = await newestReleasesOf(target).where('version', '=', version).limit(1).executeTakeFirst();
      return row === undefined ? undefined : toRelease(row);
    },

    async pruneReleases(target: TargetKey, keep: number): Promise<number> {
      const limit = Math.max(0, Math.floor(keep));
      // The versions to keep: the `limit` versions whose newest release is the most recent.
      const kept = db
        .selectFrom('releases')
        .select('version')
        .where('fraise', '=', target.fraise)
        .where('environment', '=', target.environment)
        .where('provider', '=', target.provider)
        .groupBy('version')
        .orderBy(sql`max(created_at)`, 'desc')
        .orderBy('version', 'desc')
        .limit(limit);
      const result = await db
        .deleteFrom('releases')
        .where('fraise', '=', target.fraise)
        .where('environment', '=', target.environment)
        .where('provider', '=', target.provider)
        .where('version', 'not in', kept)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async getOperation(key: OperationKey): Promise<DeploymentRecord | undefined> {
      const row = await db
        .selectFrom('deployments')
        .selectAll()
        .where('workflow_id', '=', key.workflowId)
        .where('run_id', '=', key.runId)
        .executeTakeFirst();
      return row === undefined ? undefined : toDeployment(row);
    },

    async history(filter: Partial<TargetKey>, limit: number): Promise<DeploymentRecord[]> {
      const rows = await deploymentsOf(filter)
        .orderBy('started_at', 'desc')
        .orderBy('workflow_id', 'desc')
        .orderBy('run_id', 'desc')
        .limit(Math.max(0, Math.floor(limit)))
        .execute();
      return rows.map(toDeployment);
    },

    async latestOperation(target: TargetKey): Promise<DeploymentRecord | undefined> {
      const row = await deploymentsOf(target)
        .orderBy('started_at', 'desc')
        .orderBy('workflow_id', 'desc')
        .orderBy('run_id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : toDeployment(row);
    },

    async findExpiredEphemeral(now: Date, thresholdSeconds: number, limit: number): Promise<DeploymentRecord[]> {
      const startedBefore = new Date(now.getTime() - thresholdSeconds * 1000);
      const rows = await db
        .selectFrom('deployments')
        .selectAll()
        .where('ephemeral', '=', true)
        .where('cleaned_at', 'is', null)
        .where('status', '<>', 'running')
        .where((eb) =>
          eb.or([
            eb('expires_at', '<=', now),
            eb.and([eb('expires_at', 'is', null), eb('started_at', '<=', startedBefore)]),
          ]),
        )
        .orderBy('started_at', 'asc')
        .orderBy('workflow_id', 'asc')
        .orderBy('run_id', 'asc')
        .limit(Math.max(0, Math.floor(limit)))
        .execute();
      return rows.map(toDeployment);
    },

    async markCleaned(keys: OperationKey[], at: Date): Promise<void> {
      if (keys.length === 0) return;
      await db
        .updateTable('deployments')
        .set({ cleaned_at: at })
        .where('cleaned_at', 'is', null)
        .where(({ eb, refTuple, tuple }) =>
          eb(
            refTuple('workflow_id', 'run_id'),
            'in',
            keys.map((k) => tuple(k.workflowId, k.runId)),
          ),
        )
        .execute();
    },

    async close(): Promise<void> {
      await db.destroy();
    },
  };
}
