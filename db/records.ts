import { sql, type Kysely, type Selectable } from 'kysely';
import type { ReleaseData } from '../domain/release';
import type { Target, TargetKey } from '../domain/target';
import type { Database, DeploymentsTable, ReleasesTable } from './schema';
import { createProjectRecords } from './projects';
import type { DeploymentRecord, Records, ReleaseRecord } from './types';

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

function toDeployment(row: DeploymentRow): DeploymentRecord {
  return {
    ...row,
    expiresAt: toDateOrNull(row.expiresAt),
    startedAt: toDate(row.startedAt),
    finishedAt: toDateOrNull(row.finishedAt),
    durationMs: row.durationMs === null ? null : Number(row.durationMs),
    cleanedAt: toDateOrNull(row.cleanedAt),
    target: parseJson<Target>(row.target),
  };
}

function toRelease(row: ReleaseRow): ReleaseRecord {
  return { ...row, artifact: parseJson<ReleaseData['artifact']>(row.artifact), createdAt: toDate(row.createdAt) };
}

/**
 * The records API on kysely (with CamelCasePlugin: camelCase here, snake_case in the database). Every method is
 * one SQL statement (no explicit transactions: the embedded server multiplexes its clients onto one session),
 * and every write is idempotent on (workflow_id, run_id) so a retried activity never duplicates or corrupts a row.
 */
export function createRecords(db: Kysely<Database>): Records {
  const releasesOf = (target: TargetKey) =>
    db
      .selectFrom('releases')
      .where('fraise', '=', target.fraise)
      .where('environment', '=', target.environment)
      .where('provider', '=', target.provider);

  /** Newest first; ties broken by (workflowId, runId) so the order is total. */
  const newestReleasesOf = (target: TargetKey) =>
    releasesOf(target).selectAll().orderBy('createdAt', 'desc').orderBy('workflowId', 'desc').orderBy('runId', 'desc');

  const deploymentsOf = (filter: Partial<TargetKey>) => {
    let q = db.selectFrom('deployments').selectAll();
    if (filter.fraise !== undefined) q = q.where('fraise', '=', filter.fraise);
    if (filter.environment !== undefined) q = q.where('environment', '=', filter.environment);
    if (filter.provider !== undefined) q = q.where('provider', '=', filter.provider);
    return q;
  };
  const newestFirst = (q: ReturnType<typeof deploymentsOf>) => q.orderBy('startedAt', 'desc').orderBy('workflowId', 'desc').orderBy('runId', 'desc');
  const durationTo = (finishedAt: Date) =>
    sql<number>`greatest(0, round(extract(epoch from (${finishedAt}::timestamptz - started_at)) * 1000))::bigint`;

  return {
    projects: createProjectRecords(db),
    async recordStart(op) {
      const expiresAt = op.ttlSeconds === null ? null : new Date(op.startedAt.getTime() + op.ttlSeconds * 1000);
      await db
        .insertInto('deployments')
        .values({
          workflowId: op.workflowId,
          runId: op.runId,
          fraise: op.target.fraise,
          environment: op.target.environment,
          provider: op.target.provider,
          operation: op.operation,
          version: op.version,
          previousVersion: op.previousVersion,
          status: 'running',
          requestedBy: op.requestedBy,
          ephemeral: op.ephemeral,
          ttlSeconds: op.ttlSeconds,
          expiresAt,
          startedAt: op.startedAt,
          target: JSON.stringify(op.target),
        })
        .onConflict((oc) => oc.columns(['workflowId', 'runId']).doNothing())
        .execute();
    },

    async recordResult(key, result) {
      const updated = await db
        .updateTable('deployments')
        .set({
          status: result.status,
          url: result.url,
          error: result.error,
          logs: result.logs,
          finishedAt: result.finishedAt,
          durationMs: durationTo(result.finishedAt),
        })
        .where('workflowId', '=', key.workflowId)
        .where('runId', '=', key.runId)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) {
        // Losing a result silently would leave the operation "running" forever; let the caller retry.
        throw new Error(`no deployment recorded for workflow ${key.workflowId} run ${key.runId}: recordStart must come first`);
      }
    },

    async closeRunning(key, result) {
      const updated = await db
        .updateTable('deployments')
        .set({ status: result.status, error: result.error, finishedAt: result.finishedAt, durationMs: durationTo(result.finishedAt) })
        .where('workflowId', '=', key.workflowId)
        .where('runId', '=', key.runId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },

    async recordProviderRef(key, ref) {
      await db.updateTable('deployments').set({ providerRef: ref }).where('workflowId', '=', key.workflowId).where('runId', '=', key.runId).execute();
    },

    async runningByProviderRef(provider, ref) {
      const row = await db
        .selectFrom('deployments')
        .selectAll()
        .where('provider', '=', provider)
        .where('providerRef', '=', ref)
        .where('status', '=', 'running')
        .orderBy('startedAt', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : toDeployment(row);
    },

    async findRunning(limit) {
      const rows = await db
        .selectFrom('deployments')
        .selectAll()
        .where('status', '=', 'running')
        .orderBy('startedAt', 'asc')
        .orderBy('workflowId', 'asc')
        .limit(Math.max(0, Math.floor(limit)))
        .execute();
      return rows.map(toDeployment);
    },

    async recordRelease(release) {
      await db
        .insertInto('releases')
        .values({
          workflowId: release.workflowId,
          runId: release.runId,
          fraise: release.fraise,
          environment: release.environment,
          provider: release.provider,
          version: release.release.version,
          artifact: JSON.stringify(release.release.artifact),
          createdAt: release.createdAt,
        })
        .onConflict((oc) => oc.columns(['workflowId', 'runId']).doNothing())
        .execute();
    },

    async currentRelease(target) {
      const row = await newestReleasesOf(target).limit(1).executeTakeFirst();
      return row === undefined ? undefined : toRelease(row);
    },

    async previousRelease(target) {
      // One statement: the newest release whose version is not the newest release's version.
      const current = newestReleasesOf(target).clearSelect().select('version').limit(1);
      const row = await newestReleasesOf(target).where('version', '<>', current).limit(1).executeTakeFirst();
      return row === undefined ? undefined : toRelease(row);
    },

    async releaseByVersion(target, version) {
      const row = await newestReleasesOf(target).where('version', '=', version).limit(1).executeTakeFirst();
      return row === undefined ? undefined : toRelease(row);
    },

    async listReleases(target) {
      return (await newestReleasesOf(target).execute()).map(toRelease);
    },

    async pruneReleases(target, keep) {
      const limit = Math.max(0, Math.floor(keep));
      // The versions to keep: the `limit` versions whose newest release is the most recent.
      const kept = releasesOf(target).select('version').groupBy('version').orderBy(sql`max(created_at)`, 'desc').orderBy('version', 'desc').limit(limit);
      const result = await db
        .deleteFrom('releases')
        .where('fraise', '=', target.fraise)
        .where('environment', '=', target.environment)
        .where('provider', '=', target.provider)
        .where('version', 'not in', kept)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async getOperation(key) {
      const row = await db.selectFrom('deployments').selectAll().where('workflowId', '=', key.workflowId).where('runId', '=', key.runId).executeTakeFirst();
      return row === undefined ? undefined : toDeployment(row);
    },

    async history(filter, limit) {
      const rows = await newestFirst(deploymentsOf(filter)).limit(Math.max(0, Math.floor(limit))).execute();
      return rows.map(toDeployment);
    },

    async latestOperation(target) {
      const row = await newestFirst(deploymentsOf(target)).limit(1).executeTakeFirst();
      return row === undefined ? undefined : toDeployment(row);
    },

    async findExpiredEphemeral(now, thresholdSeconds, limit) {
      const startedBefore = new Date(now.getTime() - thresholdSeconds * 1000);
      const rows = await db
        .selectFrom('deployments')
        .selectAll()
        .where('ephemeral', '=', true)
        .where('cleanedAt', 'is', null)
        .where('status', '<>', 'running')
        .where((eb) => eb.or([eb('expiresAt', '<=', now), eb.and([eb('expiresAt', 'is', null), eb('startedAt', '<=', startedBefore)])]))
        .orderBy('startedAt', 'asc')
        .orderBy('workflowId', 'asc')
        .orderBy('runId', 'asc')
        .limit(Math.max(0, Math.floor(limit)))
        .execute();
      return rows.map(toDeployment);
    },

    async markCleaned(keys, at) {
      if (keys.length === 0) return;
      await db
        .updateTable('deployments')
        .set({ cleanedAt: at })
        .where('cleanedAt', 'is', null)
        .where(({ eb, refTuple, tuple }) => eb(refTuple('workflowId', 'runId'), 'in', keys.map((k) => tuple(k.workflowId, k.runId))))
        .execute();
    },

    async loadTargetState(target) {
      const row = await db
        .selectFrom('targetState')
        .select('state')
        .where('fraise', '=', target.fraise)
        .where('environment', '=', target.environment)
        .where('provider', '=', target.provider)
        .executeTakeFirst();
      return row === undefined ? undefined : parseJson<Record<string, unknown>>(row.state);
    },

    async saveTargetState(target, state, at) {
      await db
        .insertInto('targetState')
        .values({ fraise: target.fraise, environment: target.environment, provider: target.provider, state: JSON.stringify(state), updatedAt: at })
        .onConflict((oc) => oc.columns(['fraise', 'environment', 'provider']).doUpdateSet({ state: JSON.stringify(state), updatedAt: at }))
        .execute();
    },

    async close() {
      await db.destroy();
    },
  };
}
