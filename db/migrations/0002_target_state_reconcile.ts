import { sql, type Kysely, type Migration } from 'kysely';

/**
 * - target_state: what a provider keeps per target between runs (its TargetState).
 * - deployments.status also takes 'terminated' and 'timed_out' (records reconciled from Temporal).
 * - Targets recorded before paths were made absolute by the client carried the client's `configDir` and
 *   relative paths: they are made absolute here, so cleanup can still act on them.
 */
export const targetStateReconcile: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('target_state')
      .addColumn('fraise', 'text', (c) => c.notNull())
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('state', 'jsonb', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('target_state_pkey', ['fraise', 'environment', 'provider'])
      .execute();

    await sql`alter table deployments drop constraint if exists deployments_status_check`.execute(db);
    await sql`alter table deployments add constraint deployments_status_check
      check (status in ('running', 'succeeded', 'failed', 'rolled_back', 'terminated', 'timed_out'))`.execute(db);

    for (const key of ['compose_file', 'env_file', 'ssh_key']) {
      await sql`
        update deployments
           set target = jsonb_set(target, ${sql.lit(`{config,${key}}`)}::text[],
                                  to_jsonb(rtrim(target->>'configDir', '/') || '/' || (target->'config'->>${sql.lit(key)})))
         where target ? 'configDir'
           and target->'config' ? ${sql.lit(key)}
           and left(target->'config'->>${sql.lit(key)}, 1) not in ('/', '~')`.execute(db);
    }
    await sql`update deployments set target = target - 'configDir' where target ? 'configDir'`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table deployments drop constraint if exists deployments_status_check`.execute(db);
    await sql`alter table deployments add constraint deployments_status_check
      check (status in ('running', 'succeeded', 'failed', 'rolled_back'))`.execute(db);
    await db.schema.dropTable('target_state').ifExists().execute();
  },
};
