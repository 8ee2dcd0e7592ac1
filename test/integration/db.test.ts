import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Migrator, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target, TargetKey } from '../../domain/target';
import { openDatabase, openRecords } from '../../db/connect';
import { startEmbeddedDatabase } from '../../db/embedded';
import { migrateToLatest } from '../../db/migrate';
import { migrations } from '../../db/migrations/index';
import type { NewOperation, Records } from '../../db/types';
import { databaseBackends, type DatabaseServer } from '../support/databases';

let unique = 0;
/** A target no other test touches (they share one database per backend). */
function freshTarget(label: string): Target {
  unique += 1;
  return {
    fraise: `${label}-${unique}-${Math.random().toString(36).slice(2, 8)}`,
    environment: 'production',
    provider: 'docker_compose',
    // snake_case keys, nested too: the records layer maps column names, never the keys inside JSON values.
    config: { compose_file: '/srv/compose.yaml', service_name: 'web', nested: { http_ports: [80, 443] } },
    retain: 3,
  };
}

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function operation(target: Target, overrides: Partial<NewOperation> = {}): NewOperation {
  unique += 1;
  return {
    workflowId: `deploy-${target.fraise}-${unique}`,
    runId: `run-${unique}`,
    target,
    operation: 'deploy',
    version: 'v1',
    previousVersion: null,
    requestedBy: 'alice',
    ephemeral: false,
    ttlSeconds: null,
    startedAt: at(0),
    ...overrides,
  };
}

function keyOf(target: TargetKey): TargetKey {
  return { fraise: target.fraise, environment: target.environment, provider: target.provider };
}

describe.each(databaseBackends)('records on $name', (backend) => {
  let server: DatabaseServer;
  let records: Records;
  let openedExtra: Records[] = [];

  beforeAll(async () => {
    const t = Date.now();
    server = await backend.start();
    console.info(`[db] ${backend.name}: server up in ${Date.now() - t} ms`);
  });

  afterAll(async () => {
    for (const r of openedExtra) await r.close();
    await records?.close();
    await server?.stop();
  });

  async function recs(): Promise<Records> {
    records ??= await openRecords(server.url);
    return records;
  }

  it('migrates a fresh database once even when two clients run it at the same time, then again is a no-op', async () => {
    const a = openDatabase(server.url, 2);
    const b = openDatabase(server.url, 2);
    try {
      const t = Date.now();
      // Migrations run on the unplugged instance (snake_case names), as openRecords runs them.
      const [ra, rb] = await Promise.all([migrateToLatest(a.withoutPlugins()), migrateToLatest(b.withoutPlugins())]);
      const concurrentMs = Date.now() - t;
      expect([...ra.applied, ...rb.applied]).toEqual(['0001_initial', '0002_target_state_reconcile', '0003_provider_ref', '0004_projects']);
      const t2 = Date.now();
      expect(await migrateToLatest(a.withoutPlugins())).toEqual({ applied: [] });
      expect(await migrateToLatest(b.withoutPlugins())).toEqual({ applied: [] });
      console.info(
        `[db] ${backend.name}: fresh migration (2 concurrent) ${concurrentMs} ms, up-to-date check ${Math.round((Date.now() - t2) / 2)} ms`,
      );
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables
        where table_schema = 'public' order by table_name`.execute(a.withoutPlugins());
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(['deployments', 'kysely_migration', 'kysely_migration_lock', 'project_ports', 'projects', 'releases', 'target_state']),
      );
      const applied = await a.selectFrom('kyselyMigration').select('name').execute();
      expect(applied.map((r) => r.name)).toEqual(['0001_initial', '0002_target_state_reconcile', '0003_provider_ref', '0004_projects']);
    } finally {
      await a.destroy();
      await b.destroy();
    }
  });

  it('recordStart is idempotent and round-trips every field', async () => {
    const r = await recs();
    const target = freshTarget('start');
    const op = operation(target, { ephemeral: true, ttlSeconds: 600, previousVersion: 'v0', startedAt: at(5) });
    await r.recordStart(op);
    await r.recordStart({ ...op, version: 'ignored-on-retry' });
    const rows = await r.history(keyOf(target), 10);
    expect(rows).toHaveLength(1);
    const got = await r.getOperation({ workflowId: op.workflowId, runId: op.runId });
    expect(got).toEqual({
      workflowId: op.workflowId,
      runId: op.runId,
      fraise: target.fraise,
      environment: 'production',
      provider: 'docker_compose',
      operation: 'deploy',
      version: 'v1',
      previousVersion: 'v0',
      status: 'running',
      url: null,
      error: null,
      logs: null,
      requestedBy: 'alice',
      ephemeral: true,
      ttlSeconds: 600,
      expiresAt: at(605),
      startedAt: at(5),
      finishedAt: null,
      durationMs: null,
      cleanedAt: null,
      providerRef: null,
      target,
    });
    expect(got?.startedAt).toBeInstanceOf(Date);
    expect(await r.getOperation({ workflowId: op.workflowId, runId: 'other-run' })).toBeUndefined();
  });

  it('recordResult is idempotent, computes the duration, and refuses an unknown operation', async () => {
    const r = await recs();
    const target = freshTarget('result');
    const op = operation(target, { startedAt: at(10) });
    await r.recordStart(op);
    const result = {
      status: 'failed' as const,
      url: 'http://127.0.0.1:8080',
      error: 'health check failed',
      logs: 'line 1\nline 2 ünïcødé \u{1F353}\n'.repeat(2000),
      finishedAt: at(42.5),
    };
    await r.recordResult(op, result);
    await r.recordResult(op, result);
    const rows = await r.history(keyOf(target), 10);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'failed',
      url: result.url,
      error: result.error,
      logs: result.logs,
      finishedAt: at(42.5),
      durationMs: 32_500,
    });
    // A retried start after the result must not reset it.
    await r.recordStart(op);
    expect((await r.getOperation(op))?.status).toBe('failed');
    await expect(r.recordResult({ workflowId: 'nope', runId: 'nope' }, result)).rejects.toThrow(/recordStart/);
  });

  it('recordRelease is idempotent and keeps the artifact as JSON', async () => {
    const r = await recs();
    const target = freshTarget('release');
    const release = {
      workflowId: 'wf-rel',
      runId: `run-${target.fraise}`,
      ...keyOf(target),
      release: { version: 'v7', artifact: { image: 'app:v7', imageId: 'sha256:abc' } },
      createdAt: at(1),
    };
    await r.recordRelease(release);
    await r.recordRelease({ ...release, createdAt: at(99) });
    const current = await r.currentRelease(target);
    expect(current).toEqual({
      workflowId: 'wf-rel',
      runId: release.runId,
      ...keyOf(target),
      version: 'v7',
      artifact: { image: 'app:v7', imageId: 'sha256:abc' },
      createdAt: at(1),
    });
    expect(await r.pruneReleases(target, 10)).toBe(0);
  });

  it('current, previous and by-version releases: v1, v2, v2 again -> current v2, previous v1', async () => {
    const r = await recs();
    const target = freshTarget('rollback');
    expect(await r.currentRelease(target)).toBeUndefined();
    expect(await r.previousRelease(target)).toBeUndefined();
    const rel = (n: number, version: string) => ({
      workflowId: `wf-${n}`,
      runId: `run-${n}`,
      ...keyOf(target),
      release: { version, artifact: { image: `app:${version}`, n: String(n) } },
      createdAt: at(n),
    });
    await r.recordRelease(rel(1, 'v1'));
    expect((await r.currentRelease(target))?.version).toBe('v1');
    expect(await r.previousRelease(target)).toBeUndefined();
    await r.recordRelease(rel(2, 'v2'));
    await r.recordRelease(rel(3, 'v2'));
    // Same key on another target must not leak in.
    const other = freshTarget('rollback-other');
    await r.recordRelease({ ...rel(4, 'v9'), ...keyOf(other) });

    expect(await r.currentRelease(target)).toMatchObject({ version: 'v2', runId: 'run-3' });
    expect(await r.previousRelease(target)).toMatchObject({ version: 'v1', runId: 'run-1' });
    expect(await r.releaseByVersion(target, 'v2')).toMatchObject({ runId: 'run-3', artifact: { n: '3' } });
    expect(await r.releaseByVersion(target, 'v1')).toMatchObject({ runId: 'run-1' });
    expect(await r.releaseByVersion(target, 'v9')).toBeUndefined();
    expect(await r.currentRelease({ ...keyOf(target), environment: 'staging' })).toBeUndefined();
  });

  it('pruneReleases keeps the newest N distinct versions', async () => {
    const r = await recs();
    const target = freshTarget('prune');
    const other = freshTarget('prune-other');
    const versions = ['v1', 'v2', 'v3', 'v4', 'v3', 'v5'];
    for (const [i, version] of versions.entries()) {
      for (const t of [target, other]) {
        await r.recordRelease({
          workflowId: `wf-${t.fraise}-${i}`,
          runId: 'r',
          ...keyOf(t),
          release: { version, artifact: { image: `app:${version}` } },
          createdAt: at(i),
        });
      }
    }
    // Newest distinct versions by their latest release: v5 (5), v3 (4), v4 (3); v2 and v1 go.
    expect(await r.pruneReleases(target, 3)).toBe(2);
    expect(await r.pruneReleases(target, 3)).toBe(0);
    expect(await r.releaseByVersion(target, 'v1')).toBeUndefined();
    expect(await r.releaseByVersion(target, 'v2')).toBeUndefined();
    for (const v of ['v3', 'v4', 'v5']) expect(await r.releaseByVersion(target, v)).toBeDefined();
    // Both v3 rows stay (pruning is by version, not by row).
    expect(await r.releaseByVersion(target, 'v3')).toMatchObject({ createdAt: at(4) });
    expect(await r.previousRelease(target)).toMatchObject({ version: 'v3' });
    // Other targets are untouched.
    expect(await r.releaseByVersion(other, 'v1')).toBeDefined();
    expect(await r.pruneReleases(target, 1)).toBe(3);
    expect((await r.currentRelease(target))?.version).toBe('v5');
  });

  it('history filters by any part of the target, newest first, with a limit; latestOperation', async () => {
    const r = await recs();
    const a = freshTarget('hist');
    const aStaging: Target = { ...a, environment: 'staging' };
    const aBare: Target = { ...a, provider: 'bare_metal' };
    const ops = [
      operation(a, { startedAt: at(1), version: 'a1' }),
      operation(aStaging, { startedAt: at(2), version: 's1' }),
      operation(a, { startedAt: at(3), version: 'a2', operation: 'rollback' }),
      operation(aBare, { startedAt: at(4), version: 'b1' }),
      operation(a, { startedAt: at(5), version: 'a3' }),
    ];
    // Inserted out of order: the order must come from started_at.
    for (const op of [...ops].reverse()) await r.recordStart(op);

    const versions = (rows: Array<{ version: string }>) => rows.map((x) => x.version);
    expect(versions(await r.history({ fraise: a.fraise }, 50))).toEqual(['a3', 'b1', 'a2', 's1', 'a1']);
    expect(versions(await r.history(keyOf(a), 50))).toEqual(['a3', 'a2', 'a1']);
    expect(versions(await r.history({ fraise: a.fraise, environment: 'staging' }, 50))).toEqual(['s1']);
    expect(versions(await r.history({ fraise: a.fraise, provider: 'bare_metal' }, 50))).toEqual(['b1']);
    expect(versions(await r.history({ fraise: a.fraise }, 2))).toEqual(['a3', 'b1']);
    const all = await r.history({}, 1000);
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < all.length; i++) {
      expect(all[i - 1]!.startedAt.getTime()).toBeGreaterThanOrEqual(all[i]!.startedAt.getTime());
    }
    expect((await r.latestOperation(a))?.version).toBe('a3');
    expect((await r.latestOperation(aStaging))?.version).toBe('s1');
    expect(await r.latestOperation({ ...keyOf(a), environment: 'nowhere' })).toBeUndefined();
  });

  it('findExpiredEphemeral: TTL-based and threshold-based, oldest first; markCleaned keeps the first time', async () => {
    const r = await recs();
    const t = freshTarget('eph');
    const done = async (op: NewOperation) => {
      await r.recordStart(op);
      await r.recordResult(op, { status: 'succeeded', url: null, error: null, logs: null, finishedAt: op.startedAt });
      return op;
    };
    const now = at(1000);
    const threshold = 300; // no-TTL rows expire once started before at(700)
    const ttlExpired = await done(operation(t, { ephemeral: true, ttlSeconds: 60, startedAt: at(100), version: 'ttl-expired' }));
    const ttlExactly = await done(operation(t, { ephemeral: true, ttlSeconds: 500, startedAt: at(500), version: 'ttl-exact' }));
    const ttlLive = await done(operation(t, { ephemeral: true, ttlSeconds: 3600, startedAt: at(50), version: 'ttl-live' }));
    const oldNoTtl = await done(operation(t, { ephemeral: true, startedAt: at(10), version: 'old-no-ttl' }));
    const youngNoTtl = await done(operation(t, { ephemeral: true, startedAt: at(800), version: 'young-no-ttl' }));
    const running = operation(t, { ephemeral: true, ttlSeconds: 1, startedAt: at(0), version: 'running' });
    await r.recordStart(running);
    const failed = operation(t, { ephemeral: true, ttlSeconds: 1, startedAt: at(20), version: 'failed' });
    await r.recordStart(failed);
    await r.recordResult(failed, { status: 'failed', url: null, error: 'x', logs: null, finishedAt: at(30) });
    const cleaned = await done(operation(t, { ephemeral: true, ttlSeconds: 1, startedAt: at(30), version: 'cleaned' }));
    await r.markCleaned([cleaned], at(40));
    await done(operation(t, { ephemeral: false, ttlSeconds: 1, startedAt: at(1), version: 'not-ephemeral' }));

    const mine = (rows: Array<{ fraise: string; version: string }>) =>
      rows.filter((x) => x.fraise === t.fraise).map((x) => x.version);
    const found = await r.findExpiredEphemeral(now, threshold, 1000);
    expect(mine(found)).toEqual(['old-no-ttl', 'failed', 'ttl-expired', 'ttl-exact']);
    expect(found.find((x) => x.version === 'ttl-expired')?.target).toEqual(t);
    expect(mine(await r.findExpiredEphemeral(at(15), threshold, 1000))).toEqual([]);
    // Oldest first across everything, limited.
    const limited = await r.findExpiredEphemeral(now, threshold, 2);
    expect(limited).toHaveLength(2);
    expect(limited[0]!.startedAt.getTime()).toBeLessThanOrEqual(limited[1]!.startedAt.getTime());
    void ttlLive;
    void youngNoTtl;

    await r.markCleaned([ttlExpired, oldNoTtl], at(1001));
    await r.markCleaned([ttlExpired, { workflowId: 'unknown', runId: 'unknown' }], at(2000));
    await r.markCleaned([], at(3000));
    expect((await r.getOperation(ttlExpired))?.cleanedAt).toEqual(at(1001));
    expect((await r.getOperation(oldNoTtl))?.cleanedAt).toEqual(at(1001));
    expect((await r.getOperation(cleaned))?.cleanedAt).toEqual(at(40));
    expect((await r.getOperation(ttlExactly))?.cleanedAt).toBeNull();
    expect(mine(await r.findExpiredEphemeral(now, threshold, 1000))).toEqual(['failed', 'ttl-exact']);
  });

  it('two pools at once: concurrent writes from both are all visible to both', async () => {
    const one = await openRecords(server.url, { max: 3 });
    const two = await openRecords(server.url, { max: 3 });
    openedExtra.push(one, two);
    const target = freshTarget('pools');
    const n = 100;
    const t = Date.now();
    await Promise.all(
      [one, two].flatMap((r, which) =>
        Array.from({ length: n }, (_, i) =>
          r
            .recordStart(operation(target, { workflowId: `wf-${which}-${i}`, runId: 'r', startedAt: at(i) }))
            .then(() => r.recordResult({ workflowId: `wf-${which}-${i}`, runId: 'r' }, {
              status: 'succeeded',
              url: `http://x/${which}/${i}`,
              error: null,
              logs: null,
              finishedAt: at(i + 1),
            })),
        ),
      ),
    );
    const ms = Date.now() - t;
    console.info(
      `[db] ${backend.name}: ${2 * n} start+result pairs from 2 pools in ${ms} ms (${Math.round((4 * n * 1000) / ms)} writes/s)`,
    );
    for (const r of [one, two]) {
      const rows = await r.history(keyOf(target), 1000);
      expect(rows).toHaveLength(2 * n);
      expect(rows.every((x) => x.status === 'succeeded' && x.durationMs === 1000)).toBe(true);
      expect(rows.find((x) => x.workflowId === 'wf-1-7')?.url).toBe('http://x/1/7');
    }
  });

  it.runIf(backend.name === 'PostgreSQL')('0002 makes the paths of targets recorded with a configDir absolute, and widens the statuses', async () => {
    const admin = openDatabase(server.url, 1).withoutPlugins();
    const dbName = `legacy_${process.pid}`;
    await sql`create database ${sql.id(dbName)}`.execute(admin);
    await admin.destroy();
    const url = new URL(server.url);
    url.pathname = `/${dbName}`;
    const db = openDatabase(url.toString(), 1).withoutPlugins();
    try {
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('0001_initial')).error).toBeUndefined();
      const legacy = {
        fraise: 'old',
        environment: 'prod',
        provider: 'docker_compose',
        config: { compose_file: 'app/docker-compose.yml', env_file: '/etc/app.env', service_name: 'web' },
        retain: 5,
        configDir: '/srv/fraises/',
      };
      await sql`insert into deployments (workflow_id, run_id, fraise, environment, provider, operation, version, status, requested_by, ephemeral, started_at, target)
        values ('wf', 'r', 'old', 'prod', 'docker_compose', 'deploy', 'v1', 'succeeded', 'me', true, now(), ${JSON.stringify(legacy)}::jsonb)`.execute(db);
      expect((await migrateToLatest(db)).applied).toEqual(['0002_target_state_reconcile', '0003_provider_ref', '0004_projects']);
      const rows = await sql<{ target: Record<string, unknown> }>`select target from deployments`.execute(db);
      expect(rows.rows[0]?.target).toEqual({
        fraise: 'old',
        environment: 'prod',
        provider: 'docker_compose',
        config: { compose_file: '/srv/fraises/app/docker-compose.yml', env_file: '/etc/app.env', service_name: 'web' },
        retain: 5,
      });
      await sql`update deployments set status = 'terminated'`.execute(db);
    } finally {
      await db.destroy();
    }
  });

  it('target state: none, then saved, replaced (upsert), and kept apart per target', async () => {
    const r = await recs();
    const a = freshTarget('state');
    const b = freshTarget('state');
    expect(await r.loadTargetState(a)).toBeUndefined();
    await r.saveTargetState(a, { project: 'p', images: ['app:v1'] }, at(0));
    await r.saveTargetState(a, { project: 'p', images: ['app:v1', 'app:v2'] }, at(1));
    await r.saveTargetState(b, { other: true }, at(1));
    expect(await r.loadTargetState(a)).toEqual({ project: 'p', images: ['app:v1', 'app:v2'] });
    expect(await r.loadTargetState(b)).toEqual({ other: true });
  });

  it('findRunning lists running records oldest first; closeRunning ends only a running one', async () => {
    const r = await recs();
    const target = freshTarget('reconcile');
    const stuck = operation(target, { startedAt: at(-100_000) });
    const done = operation(target, { startedAt: at(-99_000) });
    await r.recordStart(stuck);
    await r.recordStart(done);
    await r.recordResult(done, { status: 'succeeded', url: null, error: null, logs: null, finishedAt: at(-98_000) });
    const running = (await r.findRunning(10_000)).filter((x) => x.fraise === target.fraise);
    expect(running.map((x) => x.workflowId)).toEqual([stuck.workflowId]);
    expect(await r.closeRunning(stuck, { status: 'terminated', error: 'the workflow was terminated', finishedAt: at(-99_990) })).toBe(true);
    expect(await r.closeRunning(stuck, { status: 'timed_out', error: 'again', finishedAt: at(0) })).toBe(false);
    expect(await r.closeRunning(done, { status: 'terminated', error: 'no', finishedAt: at(0) })).toBe(false);
    expect(await r.getOperation(stuck)).toMatchObject({ status: 'terminated', error: 'the workflow was terminated', durationMs: 10_000 });
    expect(await r.getOperation(done)).toMatchObject({ status: 'succeeded' });
  });

  it('the provider\'s deployment id: recorded on the operation, found while it runs, not after', async () => {
    const r = await recs();
    const target = freshTarget('ref');
    const op = operation(target);
    await r.recordStart(op);
    await r.recordProviderRef(op, 'dep000000000000000000001');
    await r.recordProviderRef(op, 'dep000000000000000000001');
    expect(await r.runningByProviderRef('docker_compose', 'dep000000000000000000001')).toMatchObject({ workflowId: op.workflowId, providerRef: 'dep000000000000000000001' });
    expect(await r.runningByProviderRef('coolify', 'dep000000000000000000001')).toBeUndefined();
    await r.recordResult(op, { status: 'succeeded', url: null, error: null, logs: null, finishedAt: at(5) });
    expect(await r.runningByProviderRef('docker_compose', 'dep000000000000000000001')).toBeUndefined();
    expect((await r.getOperation(op))?.providerRef).toBe('dep000000000000000000001');
  });

  it('listReleases: every recorded release of the target, newest first', async () => {
    const r = await recs();
    const target = freshTarget('list');
    for (const [i, version] of ['v1', 'v2', 'v3'].entries()) {
      await r.recordRelease({ workflowId: `wf-l-${i}`, runId: 'r', ...keyOf(target), release: { version, artifact: { image: `app:${version}` } }, createdAt: at(i) });
    }
    expect((await r.listReleases(target)).map((x) => [x.version, x.artifact.image])).toEqual([
      ['v3', 'app:v3'],
      ['v2', 'app:v2'],
      ['v1', 'app:v1'],
    ]);
  });

  it('sequential insert rate (measurement)', async () => {
    const r = await recs();
    const target = freshTarget('rate');
    const n = 200;
    const t = Date.now();
    for (let i = 0; i < n; i++) await r.recordStart(operation(target, { startedAt: at(i) }));
    const ms = Date.now() - t;
    console.info(`[db] ${backend.name}: ${n} sequential recordStart in ${ms} ms (${Math.round((n * 1000) / ms)}/s)`);
    expect(await r.history(keyOf(target), 1000)).toHaveLength(n);
  });
});

// ---------------------------------------------------------------------------------------------------
// Embedded server specifics.

/** Minimal frontend protocol, to send a query's messages with a pause in the middle. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
function startupMessage(): Buffer {
  const body = Buffer.concat([
    Buffer.from([0, 3, 0, 0]),
    cstr('user'),
    cstr('postgres'),
    cstr('database'),
    cstr('postgres'),
    Buffer.from([0]),
  ]);
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length + 4);
  return Buffer.concat([len, body]);
}

/** Collects DataRow first columns and errors; `next()` resolves at each ReadyForQuery. */
function protocolReader(socket: ReturnType<typeof connect>): () => Promise<string[]> {
  let buffer = Buffer.alloc(0);
  let rows: string[] = [];
  const waiters: Array<(rows: string[]) => void> = [];
  socket.on('data', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data]);
    while (buffer.length >= 5) {
      const length = buffer.readInt32BE(1);
      if (buffer.length < length + 1) break;
      const type = String.fromCharCode(buffer[0]!);
      const body = buffer.subarray(5, length + 1);
      buffer = buffer.subarray(length + 1);
      if (type === 'D') rows.push(body.subarray(6, 6 + body.readInt32BE(2)).toString());
      if (type === 'E') rows.push(`error: ${body.toString('latin1').replace(/\0/g, ' ')}`);
      if (type === 'Z') {
        const done = rows;
        rows = [];
        waiters.shift()?.(done);
      }
    }
  });
  return () => new Promise((resolve) => waiters.push(resolve));
}

describe('embedded PGlite server', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fraisier-embedded-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('persists across stop/start of the same data directory, and refuses a second server on it', async () => {
    const dataDir = path.join(dir, 'persist', 'pglite');
    const t = Date.now();
    const first = await startEmbeddedDatabase({ dataDir });
    const firstStartMs = Date.now() - t;
    expect(first.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(first.url).not.toMatch(/:0\//);
    expect((await readFile(path.join(dir, 'persist', 'pglite.url'), 'utf8')).trim()).toBe(first.url);
    await expect(startEmbeddedDatabase({ dataDir })).rejects.toThrow(/already running/);

    const target = freshTarget('persist');
    const r1 = await openRecords(first.url);
    const op = operation(target);
    await r1.recordStart(op);
    await r1.recordRelease({ ...op, ...keyOf(target), release: { version: 'v1', artifact: { a: 'b' } }, createdAt: at(0) });
    await r1.close();
    await first.stop();
    await expect(stat(first.urlFile)).rejects.toThrow();

    const t2 = Date.now();
    const second = await startEmbeddedDatabase({ dataDir });
    const reopenMs = Date.now() - t2;
    console.info(`[db] embedded: first start (initdb) ${firstStartMs} ms, reopen ${reopenMs} ms`);
    try {
      const r2 = await openRecords(second.url);
      try {
        expect(await r2.getOperation(op)).toMatchObject({ version: 'v1', target });
        expect(await r2.currentRelease(target)).toMatchObject({ version: 'v1', artifact: { a: 'b' } });
      } finally {
        await r2.close();
      }
    } finally {
      await second.stop();
    }
  });

  it("keeps one client's multi-message query whole while another client queries", async () => {
    const embedded = await startEmbeddedDatabase({ dataDir: path.join(dir, 'interleave', 'pglite') });
    const url = new URL(embedded.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const client = new pg.Client({ connectionString: embedded.url });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const next = protocolReader(socket);
      socket.write(startupMessage());
      await next();
      await client.connect();

      // Parse now, Bind/Execute/Sync later: in between, another client runs a parameterised query.
      socket.write(message('P', Buffer.concat([cstr(''), cstr('select 1 as a'), Buffer.from([0, 0])])));
      await new Promise((r) => setTimeout(r, 50));
      const other = client.query<{ b: number }>('select $1::int + 1 as b', [1]);
      await new Promise((r) => setTimeout(r, 100));
      socket.write(
        Buffer.concat([
          message('B', Buffer.concat([cstr(''), cstr(''), Buffer.from([0, 0, 0, 0, 0, 0])])),
          message('E', Buffer.concat([cstr(''), Buffer.from([0, 0, 0, 0])])),
          message('S', Buffer.alloc(0)),
        ]),
      );
      expect(await next()).toEqual(['1']);
      expect((await other).rows).toEqual([{ b: 2 }]);
    } finally {
      socket.destroy();
      await client.end().catch(() => undefined);
      await embedded.stop();
    }
  });
});
