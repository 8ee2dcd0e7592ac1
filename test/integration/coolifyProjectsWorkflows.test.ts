/**
 * Projects on Coolify end to end, all real but Coolify itself: the Temporal dev server, a worker, PostgreSQL for
 * the records, the CLI as a user runs it (`fraisier project …` with projects.backend: coolify), and the
 * contract-validated Coolify double, with faults injected. No health check: the workflows wait for the stack
 * to be running (Coolify's API URL of a stack is not reachable from here).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stackName } from '../../activities/projects/backends/coolify/index';
import { EXIT } from '../../client/exitCodes';
import { projectLockKey } from '../../domain/projects';
import { findTemporalCli } from '../../workers/temporalCli';
import { fraisierLogger } from '../../workers/logger';
import { loadContract } from '../coolifyDouble/contract';
import { DEFAULT_SERVER_UUID } from '../coolifyDouble/model';
import { startCoolifyDouble, type CoolifyDouble } from '../coolifyDouble/server';
import { runCli, type CliRun } from '../support/cli';
import { startWorkerStack, type WorkerStack } from '../support/workerStack';

Runtime.install({ logger: fraisierLogger('WARN') });

const TOKEN = 'e2e-projects-token';
const taskQueue = `coolify-projects-e2e-${process.pid}`;
const ID = 'tenant-a';
let dir: string;
let configFile: string;
let double: CoolifyDouble;
let stack: WorkerStack;
/** Every CLI run's output, scanned for secrets at the end. */
const outputs: string[] = [];

const created = (id: string) =>
  double.log.filter((l) => l.operationId === 'create-service' && l.status === 201 && (l.body as { name?: string } | undefined)?.name === stackName(id)).length;
const serviceOf = (id: string) => [...double.model.services.values()].find((s) => s.name === stackName(id));

async function cli(args: string[]): Promise<CliRun> {
  const r = await runCli([...args, '--config', configFile, '--json'], stack.cliEnv);
  outputs.push(r.stdout, r.stderr);
  return r;
}

const project = (operation: string, extra: string[] = []) => cli(['project', operation, ID, ...extra]);

beforeAll(async () => {
  double = await startCoolifyDouble({ contract: await loadContract(), tokens: { [TOKEN]: ['read', 'write', 'deploy', 'read:sensitive'] }, speed: 10 });
  dir = await mkdtemp(join(tmpdir(), 'fraisier-coolify-projects-'));
  configFile = join(dir, 'fraises.yaml');
  await writeFile(join(dir, 'project.compose.yml'), 'services:\n  api:\n    image: nginx:1.27\n    environment:\n      PROJECT: ${PROJECT_ID}\n      DB_PASSWORD: ${DB_PASSWORD}\n    ports: ["${API_PORT}:80"]\n');
  await writeFile(
    configFile,
    [
      'projects:',
      '  template: project.compose.yml',
      '  secrets: [{ name: DB_PASSWORD, kind: password }, { name: JWT_SECRET, kind: hex, length: 48 }]',
      '  ports: [API_PORT]',
      '  backend: coolify',
      '  ready_timeout: 60s',
      `  coolify: { server_uuid: ${DEFAULT_SERVER_UUID}, project: Tenants }`,
      'fraises:',
      '  shop:',
      '    providers:',
      '      prod:',
      '        provider: coolify',
      `        config: { coolify_url: "${double.url}", application_uuid: abcdefghijklmnopqrstuvwx }`,
      '',
    ].join('\n'),
  );
  // The worker and the CLI share the secrets key; both reach Coolify (the CLI to choose the backend).
  const workerEnv = { COOLIFY_API_URL: double.url, COOLIFY_API_TOKEN: TOKEN, FRAISIER_SECRETS_KEY: randomBytes(32).toString('hex'), FRAISIER_DATA_DIR: join(dir, 'data') };
  stack = await startWorkerStack({ taskQueue, workerEnv });
});

afterEach(() => {
  expect(double.violations).toEqual([]);
});

afterAll(async () => {
  await stack?.close();
  await double?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('projects on coolify, from the CLI', () => {
  it('provision, again, stop, start, delete, restore, delete --purge under faults: one service ever, each step done on Coolify', async () => {
    // Few enough faults that the stack activities' 3 attempts get through; the backend test takes 20 %.
    Object.assign(double.faults, { errorRate: 0.03, rateLimitRate: 0.02, retryAfterSeconds: 1 });

    const provisioned = await project('provision');
    expect(provisioned.code, provisioned.stdout + provisioned.stderr).toBe(EXIT.ok);
    expect(provisioned.json<{ outcome: { status: string; backend: string } }>().outcome).toMatchObject({ status: 'running', backend: 'coolify' });
    const uuid = serviceOf(ID)?.uuid;
    expect(serviceOf(ID)?.status).toMatch(/^running:/);
    expect((await stack.records.projects.getProject('coolify', ID))?.providerRef).toBe(uuid);
    expect(double.model.projects.filter((p) => p.name === 'Tenants')).toHaveLength(1);

    const again = await project('provision');
    expect(again.code).toBe(EXIT.ok);
    expect(again.json<{ outcome: { detail: string } }>().outcome.detail).toContain('already provisioned');

    expect((await project('stop')).code).toBe(EXIT.ok);
    expect(serviceOf(ID)?.status).toBe('exited:unhealthy');
    expect((await project('start')).code).toBe(EXIT.ok);
    expect(serviceOf(ID)?.status).toMatch(/^running:/);

    const deleted = await project('delete');
    expect(deleted.code).toBe(EXIT.ok);
    expect(serviceOf(ID)).toMatchObject({ uuid, status: 'exited:unhealthy' }); // kept with its volumes
    const restored = await project('restore');
    expect(restored.code, restored.stdout + restored.stderr).toBe(EXIT.ok);
    expect(serviceOf(ID)).toMatchObject({ uuid, status: expect.stringMatching(/^running:/) });

    // The secrets, read before the purge (as a user would) for the scan below.
    const shown = await cli(['project', 'show', ID, '--reveal']);
    expect(shown.code).toBe(EXIT.ok);
    const secrets = Object.values(shown.json<{ secrets: Record<string, string> }>().secrets);
    outputs.pop(); // the one output meant to hold them
    outputs.pop();
    expect(secrets).toHaveLength(2);
    expect(Object.fromEntries((serviceOf(ID)?.envs ?? []).map((e) => [e.key, e.value]))).toMatchObject({ PROJECT_ID: ID });
    expect((serviceOf(ID)?.envs ?? []).map((e) => e.value)).toEqual(expect.arrayContaining(secrets));

    const purged = await project('delete', ['--purge']);
    expect(purged.code).toBe(EXIT.ok);
    expect(double.model.deletedServices).toContainEqual({ uuid, name: stackName(ID), volumes: true });
    expect(serviceOf(ID)).toBeUndefined();
    expect(created(ID)).toBe(1);

    // No secret anywhere but in the requests that set them.
    const temporal = findTemporalCli();
    const listed = await execa(temporal, ['workflow', 'list', '--address', stack.address, '--query', `WorkflowId = '${projectLockKey('coolify', ID)}'`, '-o', 'json']);
    const runs = (JSON.parse(listed.stdout || '[]') as Array<{ execution: { workflowId: string; runId: string } }>).map((r) => r.execution);
    expect(runs.length).toBeGreaterThanOrEqual(7);
    const histories = await Promise.all(
      runs.map(async (r) => (await execa(temporal, ['workflow', 'show', '--address', stack.address, '-w', r.workflowId, '-r', r.runId, '-o', 'json'])).stdout),
    );
    const requests = double.log.filter((l) => l.operationId !== 'update-envs-by-service-uuid').map((l) => JSON.stringify(l));
    for (const secret of secrets) {
      expect(histories.filter((h) => h.includes(secret))).toEqual([]);
      expect(outputs.filter((o) => o.includes(secret))).toEqual([]);
      expect(requests.filter((r) => r.includes(secret))).toEqual([]);
    }
    expect(double.log.filter((l) => l.operationId === 'update-envs-by-service-uuid' && JSON.stringify(l.body).includes(secrets[0] ?? '-'))).not.toHaveLength(0);
  });
});
