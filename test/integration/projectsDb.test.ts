import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import { createProjectRecords } from '../../db/projects';
import type { Database } from '../../db/schema';
import type { NewProject, ProjectRecords } from '../../db/types';
import { databaseBackends, type DatabaseServer } from '../support/databases';

let unique = 0;
/** A project id no other test uses (they share one database per backend). */
function freshId(label: string): string {
  unique += 1;
  return `${label}-${unique}-${Math.random().toString(36).slice(2, 8)}`;
}

const T0 = new Date('2030-01-01T00:00:00.000Z');

function newProject(id: string, overrides: Partial<NewProject> = {}): NewProject {
  return {
    backend: 'local',
    id,
    template: 'services:\n  api:\n    image: app\n    ports: ["${API_PORT}:8080"]\n',
    secretsCiphertext: 'first-ciphertext',
    secretsKeyId: 'k1k1k1k1',
    apiUrlTemplate: 'http://127.0.0.1:${API_PORT}',
    dbUrlTemplate: 'postgres://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app',
    createdAt: T0,
    ...overrides,
  };
}

/** Each test gets a range no other test allocates from. */
let nextRange = 30_000;
function freshRange(size: number): { from: number; to: number } {
  const range = { from: nextRange, to: nextRange + size - 1 };
  nextRange += size;
  return range;
}

describe.each(databaseBackends)('project records on $name', (backend) => {
  let server: DatabaseServer;
  let db: Kysely<Database>;
  let projects: ProjectRecords;

  beforeAll(async () => {
    server = await backend.start();
    // As many connections as concurrent callers below, so that their statements really race.
    db = openDatabase(server.url, 10);
    await migrateToLatest(db.withoutPlugins());
    projects = createProjectRecords(db);
  });

  afterAll(async () => {
    await db?.destroy();
    await server?.stop();
  });

  it('createProjectOnce records a project once: a second call returns the first row, its secrets untouched', async () => {
    const id = freshId('once');
    const first = await projects.createProjectOnce(newProject(id));
    expect(first.created).toBe(true);
    expect(first.project).toEqual({
      backend: 'local',
      id,
      status: 'provisioning',
      template: newProject(id).template,
      ports: {},
      secretsCiphertext: 'first-ciphertext',
      secretsKeyId: 'k1k1k1k1',
      apiUrlTemplate: 'http://127.0.0.1:${API_PORT}',
      dbUrlTemplate: 'postgres://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app',
      providerRef: null,
      purged: false,
      error: null,
      createdAt: T0,
      updatedAt: T0,
    });
    const again = await projects.createProjectOnce(newProject(id, { secretsCiphertext: 'second-ciphertext', secretsKeyId: 'k2k2k2k2', createdAt: new Date() }));
    expect(again.created).toBe(false);
    expect(again.project).toEqual(first.project);
    // The same id on the other backend is another project.
    expect((await projects.createProjectOnce(newProject(id, { backend: 'coolify' }))).created).toBe(true);
  });

  it('concurrent creates of one project: one wins, all see its secrets', async () => {
    const id = freshId('race');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => projects.createProjectOnce(newProject(id, { secretsCiphertext: `cipher-${i}` }))),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const winner = results.find((r) => r.created)?.project.secretsCiphertext;
    expect(new Set(results.map((r) => r.project.secretsCiphertext))).toEqual(new Set([winner]));
  });

  it('refuses an id the rule refuses, before the database sees it', async () => {
    await expect(projects.createProjectOnce(newProject('Bad_Id'))).rejects.toThrow('project id "Bad_Id"');
  });

  it('allocatePorts: lowest free ports of the range, the same ones again on a second call', async () => {
    const range = freshRange(10);
    const id = freshId('ports');
    await projects.createProjectOnce(newProject(id));
    const ports = await projects.allocatePorts('local', id, ['API_PORT', 'DB_PORT'], range);
    expect(ports).toEqual({ API_PORT: range.from, DB_PORT: range.from + 1 });
    expect(await projects.allocatePorts('local', id, ['API_PORT', 'DB_PORT'], range)).toEqual(ports);
    // A name added later gets a port of its own; the others stay.
    expect(await projects.allocatePorts('local', id, ['API_PORT', 'DB_PORT', 'SMTP_PORT'], range)).toEqual({ ...ports, SMTP_PORT: range.from + 2 });
    expect((await projects.getProject('local', id))?.ports).toEqual({ ...ports, SMTP_PORT: range.from + 2 });
  });

  it('two projects never share a port, even when 10 allocate at once', async () => {
    const range = freshRange(40);
    const ids = Array.from({ length: 10 }, () => freshId('many'));
    for (const id of ids) await projects.createProjectOnce(newProject(id));
    const t = Date.now();
    const allocations = await Promise.all(ids.map((id) => projects.allocatePorts('local', id, ['API_PORT', 'DB_PORT'], range)));
    console.info(`[db] ${backend.name}: 10 concurrent allocations of 2 ports in ${Date.now() - t} ms`);
    const all = allocations.flatMap((a) => Object.values(a));
    expect(all).toHaveLength(20);
    expect(new Set(all).size).toBe(20);
    for (const port of all) {
      expect(port).toBeGreaterThanOrEqual(range.from);
      expect(port).toBeLessThanOrEqual(range.to);
    }
    // And what was recorded is what was returned.
    for (const [i, id] of ids.entries()) expect((await projects.getProject('local', id))?.ports).toEqual(allocations[i]);
  });

  it('concurrent allocations for one project agree on its ports', async () => {
    const range = freshRange(20);
    const id = freshId('same');
    await projects.createProjectOnce(newProject(id));
    const allocations = await Promise.all(Array.from({ length: 10 }, () => projects.allocatePorts('local', id, ['API_PORT', 'DB_PORT'], range)));
    for (const a of allocations) expect(a).toEqual(allocations[0]);
    expect(Object.keys((await projects.getProject('local', id))?.ports ?? {})).toHaveLength(2);
  });

  it('the database itself refuses a second project on a held port', async () => {
    const range = freshRange(2);
    const [a, b] = [freshId('pk-a'), freshId('pk-b')];
    await projects.createProjectOnce(newProject(a));
    await projects.createProjectOnce(newProject(b));
    const { API_PORT } = await projects.allocatePorts('local', a, ['API_PORT'], range);
    await expect(
      sql`insert into project_ports (port, backend, project_id, name) values (${API_PORT}, 'local', ${b}, 'API_PORT')`.execute(db.withoutPlugins()),
    ).rejects.toThrow(/project_ports_pkey|duplicate key/);
  });

  it('says so when the range is full, and when the project is not recorded', async () => {
    const range = freshRange(2);
    const [a, b] = [freshId('full-a'), freshId('full-b')];
    await projects.createProjectOnce(newProject(a));
    await projects.createProjectOnce(newProject(b));
    await projects.allocatePorts('local', a, ['API_PORT', 'DB_PORT'], range);
    await expect(projects.allocatePorts('local', b, ['API_PORT'], range)).rejects.toThrow(
      `no free port left in ${range.from}..${range.to} for API_PORT of project "${b}" (backend local)`,
    );
    await expect(projects.allocatePorts('local', freshId('ghost'), ['API_PORT'], freshRange(2))).rejects.toThrow(/is not recorded \(createProjectOnce must come first\)/);
  });

  it('status changes: error set and cleared, providerRef kept, updatedAt moves', async () => {
    const id = freshId('status');
    await projects.createProjectOnce(newProject(id));
    const failed = await projects.setProjectStatus('local', id, 'failed', { error: 'health check failed', providerRef: 'abc', at: new Date(T0.getTime() + 1000) });
    expect(failed).toMatchObject({ status: 'failed', error: 'health check failed', providerRef: 'abc', updatedAt: new Date(T0.getTime() + 1000), createdAt: T0 });
    const running = await projects.setProjectStatus('local', id, 'running', { at: new Date(T0.getTime() + 2000) });
    expect(running).toMatchObject({ status: 'running', error: null, providerRef: 'abc' });
    await expect(projects.setProjectStatus('local', freshId('nobody'), 'running')).rejects.toThrow(/is recorded: createProjectOnce must come first/);
    await expect(projects.setProjectStatus('local', id, 'stopped', { purged: true })).rejects.toThrow(/only a deleted project is purged/);
  });

  it('a deleted project keeps its ports until it is purged; purged projects are listed only when asked', async () => {
    const range = freshRange(4);
    const [a, b] = [freshId('del-a'), freshId('del-b')];
    await projects.createProjectOnce(newProject(a));
    await projects.createProjectOnce(newProject(b));
    const held = await projects.allocatePorts('local', a, ['API_PORT', 'DB_PORT'], range);

    const deleted = await projects.markDeleted('local', a);
    expect(deleted).toMatchObject({ status: 'deleted', purged: false, ports: held });
    // Its ports are not given to b while a may be restored.
    const forB = await projects.allocatePorts('local', b, ['API_PORT', 'DB_PORT'], range);
    expect(Object.values(forB).some((p) => Object.values(held).includes(p))).toBe(false);

    const purged = await projects.markDeleted('local', a, { purged: true });
    expect(purged).toMatchObject({ status: 'deleted', purged: true, ports: {} });
    const listed = (await projects.listProjects({ backend: 'local' })).map((p) => p.id);
    expect(listed).toContain(b);
    expect(listed).not.toContain(a);
    expect((await projects.listProjects({ includePurged: true })).map((p) => p.id)).toContain(a);
    // Released: the next project gets them.
    const c = freshId('del-c');
    await projects.createProjectOnce(newProject(c));
    expect(Object.values(await projects.allocatePorts('local', c, ['API_PORT', 'DB_PORT'], range)).sort()).toEqual(Object.values(held).sort());
  });
});
