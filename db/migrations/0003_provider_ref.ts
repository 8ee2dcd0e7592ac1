import { type Kysely, type Migration } from 'kysely';

/**
 * deployments.provider_ref: the provider's own id of the deployment an operation started (a Coolify deployment
 * uuid), so that a notification naming it (Coolify's webhook) finds the workflow waiting on it.
 */
export const providerRef: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('deployments').addColumn('provider_ref', 'text').execute();
    await db.schema.createIndex('deployments_provider_ref_idx').on('deployments').columns(['provider', 'provider_ref']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('deployments_provider_ref_idx').ifExists().execute();
    await db.schema.alterTable('deployments').dropColumn('provider_ref').execute();
  },
};
