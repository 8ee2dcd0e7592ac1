/**
 * Project provisioning on the local backend, end to end and all real: the Temporal dev server, a worker process
 * (its log is scanned for secrets), PostgreSQL for the records, the Docker engine with Compose v2, the CLI as a
 * user runs it. Stacks are two busybox containers on host ports allocated per project.
 */
import { connect } from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../client/exitCodes';
import type { ProjectOutcome } from '../../domain/projectOperations';
import { projectLockKey, type ProjectSummary } from '../../domain/projects';
import { findTemporalCli } from '../../workers/temporalCli';
import { buildBusyboxImage, removeImages } from '../support/appImage';
import { runCli, type CliRun } from '../support/cli';
import { ensureDockerd } from '../support/dockerd';
import { saveHistory } from '../support/histories';
import { startPostgresCluster } from '../support/postgres';
import { spawnWorker, type SpawnedWorker } from '../support/workers';

const IMAGE = `fraisier-project-test:${process.pid}`;
const taskQueue = `projects-e2e-${process.pid}`;
const ids = { a: `a-${process.pid}`, b: `b-${process.pid}`, c: `c-${process.pid}`, broken: `broken-${process.pid}` };
let dir: string;
let configFile: string;
let brokenConfig: string;
let env: Record<string, string>;
let dbUrl: string;
let stopPostgres: () => Promise<void>;
let worker: SpawnedWorker;
let client: Client;
/** Every CLI run but the --reveal ones, for the secrets scan. */
const outputs: string[] = [];
const workflowRuns = new Set<string>();

async function cli(args: string[], config = configFile): Promise<CliRun> {
  const r = await runCli(['project', ...args, '--config', config], env);
  outputs.push(r.stdout, r.stderr);
  return r;
}

async function operation(args: string[], config = configFile): Promise<{ r: CliRun; outcome: ProjectOutcome; workflowId: string }> {
  const r = await cli([...args, '--json'], config);
  const parsed = r.json<{ workflowId: string; runId: string; outcome: ProjectOutcome }>();
  workflowRuns.add(`${parsed.workflowId} ${parsed.runId}`);
  return { r, outcome: parsed.outcome, workflowId: parsed.workflowId };
}

async function containers(id: string, all = true): Promise<string[]> {
  const r = await execa('docker', ['ps', ...(all ? ['-a'] : []), '-q', '--filter', `label=com.docker.compose.project=fraisier-project-${id}`]);
  return r.stdout.split('\n').filter(Boolean);
}

async function volumes(id: string): Promise<string[]> {
  const r = await execa('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=fraisier-project-${id}`]);
  return r.stdout.split('\n').filter(Boolean);
}

async function get(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(3_000) }).then(
    (r) => r.status,
    () => 0,
  );
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function revealed(id: string): Promise<Record<string, string>> {
  const r = await runCli(['project', 'show', id, '--reveal', '--json', '--config', configFile], env);
  expect(r.code, r.stderr).toBe(EXIT.ok);
  return r.json<{ secrets: Record<string, string> }>().secrets;
}

beforeAll(async () => {
  await ensureDockerd();
  await buildBusyboxImage(IMAGE);
  dir = await mkdtemp(join(tmpdir(), 'fraisier-projects-'));
  const template = [
    'services:',
    '  api:',
    `    image: ${IMAGE}`,
    '    network_mode: host',
    '    command: ["httpd", "-f", "-p", "${API_PORT}", "-h", "/www"]',
    '    environment:',
    '      PROJECT: ${PROJECT_ID}',
    '      API_TOKEN: ${API_TOKEN}',
    '  db:',
    `    image: ${IMAGE}`,
    '    network_mode: host',
    '    command: ["httpd", "-f", "-p", "${DB_PORT}", "-h", "/www"]',
    '    environment:',
    '      DB_PASSWORD: ${DB_PASSWORD}',
    '    volumes: ["data:/data"]',
    'volumes:',
    '  data: {}',
    '',
  ].join('\n');
  await writeFile(join(dir, 'project.yml'), template);
  const projects = (healthPath: string, ready: string) => [
    'projects:',
    '  template: project.yml',
    '  secrets:',
    '    - { name: DB_PASSWORD, kind: password, length: 24 }',
    '    - { name: API_TOKEN, kind: hex, length: 32 }',
    '  ports: [API_PORT, DB_PORT]',
    `  port_range: { from: 21${String(process.pid % 10)}00, to: 21${String(process.pid % 10)}99 }`,
    '  api_url: http://127.0.0.1:${API_PORT}',
    '  db_url: postgres://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app',
    `  health_check: { path: ${healthPath}, interval: 1s }`,
    '  backend: local',
    `  ready_timeout: ${ready}`,
    '',
  ];
  configFile = join(dir, 'fraises.yaml');
  await writeFile(configFile, projects('/', '60s').join('\n'));
  // The same projects, but a health check that never passes: the provision gives up after 3 s.
  brokenConfig = join(dir, 'broken.yaml');
  await writeFile(brokenConfig, projects('/missing', '3s').join('\n'));

  const cluster = await startPostgresCluster();
  stopPostgres = cluster.stop;
  dbUrl = cluster.url;
  const address = inject('temporalAddress');
  env = {
    ...(process.env as Record<string, string>),
    TEMPORAL_ADDRESS: address,
    DATABASE_URL: dbUrl,
    FRAISIER_TASK_QUEUE: taskQueue,
    FRAISIER_DATA_DIR: join(dir, 'data'),
  };
  worker = spawnWorker(env);
  expect(await worker.ready(), worker.output()).toBe(true);
  client = new Client({ connection: await Connection.connect({ address }) });
}, 240_000);

afterAll(async () => {
  worker?.kill();
  await client?.connection.close();
  for (const id of Object.values(ids)) {
    await execa('docker', ['compose', '-p', `fraisier-project-${id}`, 'down', '--volumes', '--remove-orphans'], { reject: false });
  }
  await removeImages([IMAGE]);
  await stopPostgres?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('projects on the local Docker host', () => {
  it('provisions two projects: both healthy, on distinct ports, their API answering and their db port open', async () => {
    const [a, b] = await Promise.all([operation(['provision', ids.a]), operation(['provision', ids.b])]);
    for (const { r, outcome } of [a, b]) {
      expect(r.code, r.stderr + r.stdout).toBe(EXIT.ok);
      expect(outcome).toMatchObject({ operation: 'provision', status: 'running', backend: 'local' });
      expect(await get(outcome.apiUrl ?? '')).toBe(200);
      expect(await tcpOpen(outcome.ports.DB_PORT ?? 0)).toBe(true);
      expect(outcome.dbUrl).toMatch(/^postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/app$/);
    }
    const ports = [...Object.values(a.outcome.ports), ...Object.values(b.outcome.ports)];
    expect(new Set(ports).size).toBe(4);
    expect(a.workflowId).toBe(projectLockKey('local', ids.a));
    await saveHistory(client, a.workflowId, 'project-provision');
    // The env file holding the secrets is private, and so is its directory.
    const projectDir = join(dir, 'data', 'projects', `fraisier-project-${ids.a}`);
    expect((await stat(join(projectDir, '.env'))).mode & 0o777).toBe(0o600);
    expect((await stat(projectDir)).mode & 0o777).toBe(0o700);
  });

  it('provisioning the same id again leaves the one stack as it is', async () => {
    const before = await containers(ids.a);
    const again = await operation(['provision', ids.a]);
    expect(again.r.code, again.r.stderr).toBe(EXIT.ok);
    expect(again.outcome.detail).toMatch(/already provisioned and is healthy: nothing changed/);
    expect(await containers(ids.a)).toEqual(before);
  });

  it('stops and starts the whole stack; status follows', async () => {
    const stop = await operation(['stop', ids.a]);
    expect(stop.r.code, stop.r.stderr).toBe(EXIT.ok);
    expect(await containers(ids.a, false)).toEqual([]);
    expect(await get(stop.outcome.apiUrl ?? '')).toBe(0);
    const status = await cli(['status', ids.a, '--json']);
    expect(status.json<ProjectSummary>().status).toBe('stopped');
    await saveHistory(client, stop.workflowId, 'project-stop');

    const start = await operation(['start', ids.a]);
    expect(start.r.code, start.r.stderr).toBe(EXIT.ok);
    expect(start.outcome.status).toBe('running');
    expect(await get(start.outcome.apiUrl ?? '')).toBe(200);
    await saveHistory(client, start.workflowId, 'project-start');
  });

  it('restores a project whose containers were removed by hand: same secrets, same ports; a healthy one is left alone', async () => {
    const secrets = await revealed(ids.a);
    const before = (await cli(['status', ids.a, '--json'])).json<ProjectSummary>();
    await execa('docker', ['rm', '-f', ...(await containers(ids.a))]);
    const restored = await operation(['restore', ids.a]);
    expect(restored.r.code, restored.r.stderr).toBe(EXIT.ok);
    expect(restored.outcome.ports).toEqual(before.ports);
    expect(await get(restored.outcome.apiUrl ?? '')).toBe(200);
    expect(await revealed(ids.a)).toEqual(secrets);
    // The containers were made from the stored secrets: compose put them in their environment.
    const api = (await execa('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=fraisier-project-${ids.a}`, '--filter', 'label=com.docker.compose.service=api'])).stdout.trim();
    const envOf = (await execa('docker', ['inspect', '--format', '{{json .Config.Env}}', api])).stdout;
    expect(JSON.parse(envOf)).toContain(`API_TOKEN=${secrets.API_TOKEN}`);
    await saveHistory(client, restored.workflowId, 'project-restore');

    const healthy = await operation(['restore', ids.a]);
    expect(healthy.outcome.detail).toMatch(/is healthy: left as it is/);
  });

  it('deletes keeping the volumes (restorable), then with --purge (ports freed, record kept)', async () => {
    const del = await operation(['delete', ids.b]);
    expect(del.r.code, del.r.stderr).toBe(EXIT.ok);
    expect(del.outcome.status).toBe('deleted');
    expect(await containers(ids.b)).toEqual([]);
    expect(await volumes(ids.b)).toHaveLength(1);
    await saveHistory(client, del.workflowId, 'project-delete');

    const back = await operation(['restore', ids.b]);
    expect(back.r.code, back.r.stderr).toBe(EXIT.ok);
    expect(back.outcome.status).toBe('running');

    const oldSecrets = await revealed(ids.b);
    const purge = await operation(['delete', ids.b, '--purge']);
    expect(purge.r.code, purge.r.stderr).toBe(EXIT.ok);
    expect(await containers(ids.b)).toEqual([]);
    expect(await volumes(ids.b)).toEqual([]);
    const shown = (await cli(['status', ids.b, '--json'])).json<ProjectSummary>();
    expect(shown).toMatchObject({ status: 'deleted', purged: true, apiUrl: null, dbUrl: null, ports: {} });
    const listed = (await cli(['list', '--json'])).json<ProjectSummary[]>().map((p) => p.id);
    expect(listed).not.toContain(ids.b);
    expect((await cli(['list', '--all', '--json'])).json<ProjectSummary[]>().map((p) => p.id)).toContain(ids.b);
    const again = await operation(['restore', ids.b]);
    expect(again.r.code).toBe(EXIT.failed);
    expect(again.r.stdout).toMatch(/purged/);

    // Provisioned again, a purged project starts anew: new secrets, its stack healthy.
    const anew = await operation(['provision', ids.b]);
    expect(anew.r.code, anew.r.stderr).toBe(EXIT.ok);
    expect(anew.outcome).toMatchObject({ status: 'running' });
    expect(await get(anew.outcome.apiUrl ?? '')).toBe(200);
    expect((await revealed(ids.b)).DB_PASSWORD).not.toBe(oldSecrets.DB_PASSWORD);
  });

  it('a provision that fails half way removes what it created and records the project failed', async () => {
    const r = await cli(['provision', ids.broken, '--json'], brokenConfig);
    expect(r.code).toBe(EXIT.failed);
    const { error } = r.json<{ error: string }>();
    expect(error).toMatch(/not healthy after \d+s .*GET http:\/\/127\.0\.0\.1:\d+\/missing: 404.*removed its containers and network and volumes/);
    expect(await containers(ids.broken)).toEqual([]);
    expect(await volumes(ids.broken)).toEqual([]);
    expect((await cli(['status', ids.broken, '--json'], brokenConfig)).json<ProjectSummary>()).toMatchObject({ status: 'failed' });
  });

  it('one operation per project at a time: a second is refused with exit code 3 naming the holder', async () => {
    // A provision that takes its 3 s of ready timeout (its health check never passes), then gives up.
    const started = await cli(['provision', ids.c, '--no-wait', '--json'], brokenConfig);
    expect(started.code, started.stderr).toBe(EXIT.ok);
    const { workflowId, runId } = started.json<{ workflowId: string; runId: string }>();
    workflowRuns.add(`${workflowId} ${runId}`);
    const refused = await cli(['stop', ids.c], brokenConfig);
    expect(refused.code).toBe(EXIT.locked);
    expect(refused.stderr).toMatch(new RegExp(`${projectLockKey('local', ids.c)} is locked: project provision of ${ids.c}`));
    await expect(client.workflow.getHandle(workflowId, runId).result()).rejects.toThrow('Workflow execution failed');
  });

  it('bad input is refused before anything starts', async () => {
    const bad = await cli(['provision', 'Bad_Id']);
    expect(bad.code).toBe(EXIT.badInput);
    expect(bad.stderr).toMatch(/project id "Bad_Id" has characters other than lowercase letters, digits and "-"/);
    const none = await cli(['show', `nobody-${process.pid}`]);
    expect(none.code).toBe(EXIT.badInput);
  });

  it('no secret appears in any workflow history, the worker log, a CLI output or the database (ciphertext aside)', async () => {
    const secretValues = [...Object.values(await revealed(ids.a)), ...Object.values(await revealed(ids.c))];
    expect(secretValues.length).toBe(4);
    const histories: string[] = [];
    for (const run of workflowRuns) {
      const [workflowId, runId] = run.split(' ') as [string, string];
      const shown = await execa(findTemporalCli(), ['workflow', 'show', '--workflow-id', workflowId, '--run-id', runId, '--address', inject('temporalAddress'), '--output', 'json']);
      histories.push(shown.stdout);
    }
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const dump: string[] = [];
    try {
      const tables = await db.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public'");
      for (const { table_name: table } of tables.rows) {
        const rows = await db.query(`select * from "${table}"`);
        for (const row of rows.rows as Array<Record<string, unknown>>) {
          delete row.secrets_ciphertext;
          dump.push(JSON.stringify(row));
        }
      }
    } finally {
      await db.end();
    }
    const places: Array<[string, string]> = [
      ['workflow histories', histories.join('\n')],
      ['worker log', worker.output()],
      ['CLI outputs', outputs.join('\n')],
      ['database dump', dump.join('\n')],
    ];
    expect(histories.length).toBeGreaterThanOrEqual(10);
    const hits = places.flatMap(([where, text]) => secretValues.filter((s) => text.includes(s)).map(() => where));
    expect(hits).toEqual([]);
  });
});
