import { sql, type Kysely, type Selectable } from 'kysely';
import { validateProjectId, type ProjectBackend } from '../domain/projects';
import type { Database, ProjectsTable } from './schema';
import type { ProjectRecord, ProjectRecords } from './types';

/**
 * Records of projects and their host ports, on kysely (CamelCasePlugin), in the style of records.ts: every method
 * is one statement or a bounded sequence of idempotent ones, without explicit transactions (the embedded server
 * multiplexes its clients onto one session); the database's keys do the guarding.
 *
 * Ports: a deleted project keeps its ports while its row exists and is not purged, so that restore brings it back
 * on the same ports (its URLs stay right); purging it releases them.
 */

/** Attempts per port name before giving up on a contended allocation (each lost race means another allocation won). */
const MAX_ALLOCATION_ATTEMPTS = 200;
const FOREIGN_KEY_VIOLATION = '23503';

function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

type ProjectRow = Selectable<ProjectsTable> & { ports: Record<string, number> | string | null };

function toProject(row: ProjectRow): ProjectRecord {
  const ports = typeof row.ports === 'string' ? (JSON.parse(row.ports) as Record<string, number>) : (row.ports ?? {});
  return { ...row, ports, createdAt: toDate(row.createdAt), updatedAt: toDate(row.updatedAt) };
}

function describe(backend: ProjectBackend, id: string): string {
  return `project ${JSON.stringify(id)} (backend ${backend})`;
}

export function createProjectRecords(db: Kysely<Database>): ProjectRecords {
  /** Every project column, and its ports as one JSON object (name -> port). */
  const projectsWithPorts = () =>
    db.selectFrom('projects').selectAll('projects').select(
      sql<Record<string, number>>`coalesce((select jsonb_object_agg(pp.name, pp.port) from project_ports pp
        where pp.backend = projects.backend and pp.project_id = projects.id), '{}'::jsonb)`.as('ports'),
    );

  const getProject = async (backend: ProjectBackend, id: string): Promise<ProjectRecord | undefined> => {
    const row = await projectsWithPorts().where('backend', '=', backend).where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toProject(row);
  };

  const portsOf = async (backend: ProjectBackend, id: string): Promise<Record<string, number>> => {
    const rows = await db.selectFrom('projectPorts').select(['name', 'port']).where('backend', '=', backend).where('projectId', '=', id).execute();
    return Object.fromEntries(rows.map((r) => [r.name, r.port]));
  };

  /** Takes the lowest free port of the range for `name`; undefined when it lost a race or the range is full. */
  const takeFreePort = async (backend: ProjectBackend, id: string, name: string, range: { from: number; to: number }) => {
    const result = await sql<{ port: number }>`
      insert into project_ports (port, backend, project_id, name)
      select g.port, ${backend}, ${id}, ${name}
        from generate_series(${range.from}::int, ${range.to}::int) as g(port)
       where not exists (select 1 from project_ports pp where pp.port = g.port)
       order by g.port
       limit 1
      on conflict do nothing
      returning port`.execute(db);
    return result.rows[0]?.port;
  };

  const freePortsIn = async (range: { from: number; to: number }): Promise<number> => {
    const row = await db
      .selectFrom('projectPorts')
      .select((eb) => eb.fn.countAll<string | number>().as('held'))
      .where('port', '>=', range.from)
      .where('port', '<=', range.to)
      .executeTakeFirstOrThrow();
    return range.to - range.from + 1 - Number(row.held);
  };

  const records: ProjectRecords = {
    async createProjectOnce(project) {
      validateProjectId(project.id);
      const inserted = await db
        .insertInto('projects')
        .values({
          backend: project.backend,
          id: project.id,
          status: 'provisioning',
          template: project.template,
          secretsCiphertext: project.secretsCiphertext,
          secretsKeyId: project.secretsKeyId,
          apiUrlTemplate: project.apiUrlTemplate,
          dbUrlTemplate: project.dbUrlTemplate,
          createdAt: project.createdAt,
          updatedAt: project.createdAt,
        })
        .onConflict((oc) => oc.columns(['backend', 'id']).doNothing())
        .returning('id')
        .executeTakeFirst();
      const row = await getProject(project.backend, project.id);
      // Only a delete between the two statements could get here; the caller's retry records it again.
      if (!row) throw new Error(`${describe(project.backend, project.id)} was removed while it was being recorded; try again`);
      return { project: row, created: inserted !== undefined };
    },

    async allocatePorts(backend, id, names, range) {
      const ports = await portsOf(backend, id);
      for (const name of names) {
        for (let attempt = 1; ports[name] === undefined; attempt++) {
          let port: number | undefined;
          try {
            port = await takeFreePort(backend, id, name, range);
          } catch (err) {
            if ((err as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) {
              throw new Error(`cannot allocate ports to ${describe(backend, id)}: it is not recorded (createProjectOnce must come first)`, { cause: err });
            }
            throw err;
          }
          if (port !== undefined) {
            ports[name] = port;
            break;
          }
          // Nothing inserted: a concurrent allocation for this project gave `name` a port, or took our candidate.
          const now = await portsOf(backend, id);
          if (now[name] !== undefined) {
            ports[name] = now[name];
            break;
          }
          if ((await freePortsIn(range)) <= 0) {
            throw new Error(
              `no free port left in ${range.from}..${range.to} for ${name} of ${describe(backend, id)}: every one is held by a project. Widen projects.port_range, or purge deleted projects to release theirs`,
            );
          }
          if (attempt >= MAX_ALLOCATION_ATTEMPTS) {
            throw new Error(`could not allocate a port for ${name} of ${describe(backend, id)} after ${attempt} attempts lost to concurrent allocations; try again`);
          }
        }
      }
      return Object.fromEntries(names.map((name) => [name, ports[name] as number]));
    },

    getProject,

    async listProjects(filter = {}) {
      let q = projectsWithPorts();
      if (filter.backend !== undefined) q = q.where('backend', '=', filter.backend);
      if (filter.includePurged !== true) q = q.where('purged', '=', false);
      const rows = await q.orderBy('createdAt', 'asc').orderBy('backend', 'asc').orderBy('id', 'asc').execute();
      return rows.map(toProject);
    },

    async setProjectStatus(backend, id, status, change = {}) {
      if (change.purged === true && status !== 'deleted') {
        throw new RangeError(`${describe(backend, id)} cannot be purged with status ${status}: only a deleted project is purged`);
      }
      const values = {
        status,
        error: change.error ?? null,
        updatedAt: change.at ?? new Date(),
        ...(change.purged === true ? { purged: true } : {}),
        ...(change.providerRef !== undefined ? { providerRef: change.providerRef } : {}),
      };
      // Purged: its ports are released in the same statement.
      const statement =
        change.purged === true
          ? db.with('released', (w) => w.deleteFrom('projectPorts').where('backend', '=', backend).where('projectId', '=', id)).updateTable('projects')
          : db.updateTable('projects');
      const result = await statement.set(values).where('backend', '=', backend).where('id', '=', id).executeTakeFirst();
      if (result.numUpdatedRows === 0n) {
        throw new Error(`no ${describe(backend, id)} is recorded: createProjectOnce must come first`);
      }
      const row = await getProject(backend, id);
      if (!row) throw new Error(`${describe(backend, id)} was removed while its status was being set`);
      return row;
    },

    async reviveProject(project) {
      validateProjectId(project.id);
      // Only a purged row: its data is gone, so it starts again with what it is given (new secrets, the template now).
      await db
        .updateTable('projects')
        .set({
          status: 'provisioning',
          purged: false,
          error: null,
          template: project.template,
          secretsCiphertext: project.secretsCiphertext,
          secretsKeyId: project.secretsKeyId,
          apiUrlTemplate: project.apiUrlTemplate,
          dbUrlTemplate: project.dbUrlTemplate,
          updatedAt: project.createdAt,
        })
        .where('backend', '=', project.backend)
        .where('id', '=', project.id)
        .where('purged', '=', true)
        .executeTakeFirst();
      const row = await getProject(project.backend, project.id);
      if (!row) throw new Error(`no ${describe(project.backend, project.id)} is recorded: createProjectOnce must come first`);
      return row;
    },

    async markDeleted(backend, id, options = {}) {
      return records.setProjectStatus(backend, id, 'deleted', { purged: options.purged === true, ...(options.at ? { at: options.at } : {}) });
    },
  };
  return records;
}
