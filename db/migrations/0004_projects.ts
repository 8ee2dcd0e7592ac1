import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Projects (tenants), one row per (backend, id), and their host ports, one row per port: the port is the primary
 * key, so no two projects can ever hold one port, whatever races the allocation. A project's ports go with it
 * (on delete cascade) and are released when it is purged (db/projects.ts).
 *
 * The URLs are stored as templates (api_url_template, db_url_template), never rendered: a rendered db URL holds
 * a password, and the secrets are kept only encrypted (secrets_ciphertext, under the key secrets_key_id).
 * `template` is the compose template's text the stack was made from, so restore can make it again.
 */
export const projects: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('projects')
      .addColumn('backend', 'text', (c) => c.notNull().check(sql`backend in ('local', 'coolify')`))
      .addColumn('id', 'text', (c) => c.notNull().check(sql`id ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'`))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('provisioning', 'running', 'stopped', 'failed', 'deleted')`))
      .addColumn('template', 'text', (c) => c.notNull())
      .addColumn('secrets_ciphertext', 'text', (c) => c.notNull())
      .addColumn('secrets_key_id', 'text', (c) => c.notNull())
      .addColumn('api_url_template', 'text')
      .addColumn('db_url_template', 'text')
      .addColumn('provider_ref', 'text')
      .addColumn('purged', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('error', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('projects_pkey', ['backend', 'id'])
      .execute();

    await db.schema
      .createTable('project_ports')
      .addColumn('port', 'integer', (c) => c.notNull().check(sql`port between 1 and 65535`))
      .addColumn('backend', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_ports_pkey', ['port'])
      // One port per name and project: a retried or concurrent allocation finds the first one.
      .addUniqueConstraint('project_ports_name_key', ['backend', 'project_id', 'name'])
      .addForeignKeyConstraint('project_ports_project_fkey', ['backend', 'project_id'], 'projects', ['backend', 'id'], (fk) => fk.onDelete('cascade'))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('project_ports').ifExists().execute();
    await db.schema.dropTable('projects').ifExists().execute();
  },
};
