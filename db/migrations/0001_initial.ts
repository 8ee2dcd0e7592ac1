import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The first schema: one row per deploy/rollback operation, one row per recorded release.
 * Migrations take `Kysely<unknown>`: they must not depend on the current `Database` interface, which
 * describes the schema after the last migration, not the one this migration sees.
 */
export const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('deployments')
      .addColumn('workflow_id', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('fraise', 'text', (c) => c.notNull())
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('operation', 'text', (c) => c.notNull().check(sql`operation in ('deploy', 'rollback')`))
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('previous_version', 'text')
      .addColumn('status', 'text', (c) =>
        c.notNull().check(sql`status in ('running', 'succeeded', 'failed', 'rolled_back')`),
      )
      .addColumn('url', 'text')
      .addColumn('error', 'text')
      .addColumn('logs', 'text')
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('ephemeral', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('ttl_seconds', 'integer', (c) => c.check(sql`ttl_seconds is null or ttl_seconds >= 0`))
      .addColumn('expires_at', 'timestamptz')
      .addColumn('started_at', 'timestamptz', (c) => c.notNull())
      .addColumn('finished_at', 'timestamptz')
      .addColumn('duration_ms', 'bigint')
      .addColumn('cleaned_at', 'timestamptz')
      .addColumn('target', 'jsonb', (c) => c.notNull())
      .addPrimaryKeyConstraint('deployments_pkey', ['workflow_id', 'run_id'])
      .execute();

    // history / latestOperation on a target.
    await db.schema
      .createIndex('deployments_target_started_idx')
      .on('deployments')
      .columns(['fraise', 'environment', 'provider', 'started_at desc'])
      .execute();
    // history without a filter.
    await db.schema.createIndex('deployments_started_idx').on('deployments').column('started_at desc').execute();
    // findExpiredEphemeral: ephemeral and not yet cleaned, oldest first.
    await db.schema
      .createIndex('deployments_cleanup_idx')
      .on('deployments')
      .columns(['ephemeral', 'cleaned_at', 'started_at'])
      .execute();

    await db.schema
      .createTable('releases')
      .addColumn('workflow_id', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('fraise', 'text', (c) => c.notNull())
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('artifact', 'jsonb', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('releases_pkey', ['workflow_id', 'run_id'])
      .execute();

    await db.schema
      .createIndex('releases_target_created_idx')
      .on('releases')
      .columns(['fraise', 'environment', 'provider', 'created_at desc'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('releases').ifExists().execute();
    await db.schema.dropTable('deployments').ifExists().execute();
  },
};
