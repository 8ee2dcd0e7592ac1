import { Migrator, sql, type Kysely, type MigrationProvider, type MigrationResult } from 'kysely';
import { migrations } from './migrations/index';

/**
 * Session-level advisory lock key held around the whole migration run (kysely's Migrator takes its own
 * lock only around the migrations themselves, not around creating its bookkeeping tables).
 * Arbitrary, fixed: the ASCII of "fraisMIG".
 */
const MIGRATION_LOCK_KEY = sql.lit(0x66726169734d4947n.toString());

const provider: MigrationProvider = {
  getMigrations: async () => migrations,
};

export interface MigrationReport {
  /** Names of the migrations this call applied (empty when already up to date). */
  applied: string[];
}

/**
 * Brings the schema up to date. Safe to run from several processes at once: the whole run is
 * serialised by a session-level `pg_advisory_lock` on one connection.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<MigrationReport> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn);
    try {
      const migrator = new Migrator({ db: conn, provider });
      const { error, results } = await migrator.migrateToLatest();
      if (error !== undefined) {
        const failed = results?.find((r: MigrationResult) => r.status === 'Error')?.migrationName;
        const reason = error instanceof Error ? error.message : String(error);
        const which = failed === undefined ? 'database migration' : `database migration ${failed}`;
        throw new Error(`${which} failed: ${reason}`, { cause: error });
      }
      return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn);
    }
  });
}
