/**
 * Coolify end to end, all real but Coolify itself: the Temporal dev server, a worker, PostgreSQL for the records,
 * fraisier's webhook receiver, the CLI as a user runs it, and the contract-validated Coolify double.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../client/exitCodes';
import { startWebhookReceiver, type WebhookReceiver } from '../../client/webhooks';
import type { Records } from '../../db/types';
import type { Target } from '../../domain/target';
import { fraisierLogger } from '../../workers/logger';
import { loadContract } from '../coolifyDouble/contract';
import type { App } from '../coolifyDouble/model';
import { startCoolifyDouble, type CoolifyDouble } from '../coolifyDouble/server';
import { runCli, spawnCli } from '../support/cli';
import { startDeployUnderLock } from '../support/deploys';
import { saveHistory } from '../support/histories';
import { waitForStep } from '../support/progress';
import { startWorkerStack, type WorkerStack } from '../support/workerStack';
import { spawnWorker, type SpawnedWorker } from '../support/workers';
import { until } from '../support/until';

Runtime.install({ logger: fraisierLogger('WARN') });

const TOKEN = 'e2e-coolify-token';
const taskQueue = `coolify-e2e-${process.pid}`;
let dir: string;
let configFile: string;
let env: Record<string, string>;
let double: CoolifyDouble;
let receiver: WebhookReceiver;
let records: Records;
let stack: WorkerStack;
let client: Client;
let web: App;
let preview: App;

const deploysOf = (app: App) => double.log.filter((l) => l.operationId === 'deploy-by-tag-or-uuid' && l.query.uuid === app.uuid).length;

beforeAll(async () => {
  double = await startCoolifyDouble({ contract: await loadContract(), tokens: { [TOKEN]: ['read', 'write', 'deploy', 'read:sensitive'], weak: ['read', 'write'] }, speed: 10 });
  // Builds of 3 s at speed 10: 0.3 s.
  web = double.model.addApp({ name: 'web', imageTag: 'v0', buildMs: 3_000 });
  preview = double.model.addApp({ name: 'preview', project: 'Shop', environment: 'previews', buildMs: 3_000 });
  dir = await mkdtemp(join(tmpdir(), 'fraisier-coolify-'));
  configFile = join(dir, 'fraises.yaml');
  await writeFile(
    configFile,
    [
      'fraises:',
      '  shop:',
      '    providers:',
      '      prod:',
      '        provider: coolify',
      '        poll_max_interval: 2s',
      `        config: { coolify_url: "${double.url}", application_uuid: ${web.uuid} }`,
      '      weak:',
      '        provider: coolify',
      `        config: { coolify_url: "${double.url}", application_uuid: ${web.uuid}, token_env: WEAK_TOKEN }`,
      '      preview:',
      '        provider: coolify',
      `        config: { coolify_url: "${double.url}", project: Shop, environment: previews, application: preview, version_env: APP_VERSION }`,
      '',
    ].join('\n'),
  );
  stack = await startWorkerStack({ taskQueue, workerEnv: { COOLIFY_API_TOKEN: TOKEN, WEAK_TOKEN: 'weak' } });
  ({ records, client } = stack);
  receiver = await startWebhookReceiver({ host: '127.0.0.1', port: 0, secret: 'e2e-webhook-secret-0123456789', records, client });
  double.setWebhook(receiver.url);
  env = stack.cliEnv;
});

afterEach(() => {
  expect(double.violations).toEqual([]);
  Object.assign(double.faults, { webhook: 'on-time' });
});

afterAll(async () => {
  await receiver?.close();
  await double?.close();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const deploy = (environment: string, version: string, extra: string[] = []) =>
  runCli(['deploy', 'shop', environment, '--version', version, '--config', configFile, '--json', ...extra], env);

describe('coolify, from the CLI', () => {
  it('deploys v1 then v2: one POST /deploy each, recorded with its Coolify deployment', async () => {
    const first = await deploy('prod', 'v1');
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(first.json<{ outcome: { status: string } }>().outcome.status).toBe('succeeded');
    await saveHistory(client, first.json<{ workflowId: string }>().workflowId, 'coolify-deploy-succeeded');
    const second = await deploy('prod', 'v2');
    expect(second.code, second.stderr).toBe(EXIT.ok);
    expect(deploysOf(web)).toBe(2);
    expect(web.currentTag).toBe('v2');
    const [last] = await records.history({ fraise: 'shop', environment: 'prod' }, 1);
    expect(last).toMatchObject({ version: 'v2', status: 'succeeded', providerRef: expect.stringMatching(/^[a-z0-9]{24}$/) });
    const status = await runCli(['status', 'shop', 'prod', '--config', configFile, '--json'], env);
    expect(status.json<{ live: { state: string; version: string } }>().live).toMatchObject({ state: 'running', version: 'v2' });
  });

  it('a failed build: build log attached, rolled back automatically through the kept image', async () => {
    web.failNext = 1;
    const r = await deploy('prod', 'v3');
    expect(r.code).toBe(EXIT.failed);
    const out = r.json<{ outcome: { status: string; rolledBackTo: string; detail: string } }>().outcome;
    expect(out).toMatchObject({ status: 'rolled_back', rolledBackTo: 'v2' });
    expect(out.detail).toMatch(/ended failed; last build lines/);
    expect(double.log.filter((l) => l.operationId === 'rollback-application-by-uuid')).toHaveLength(1);
    expect(web.currentTag).toBe('v2');
  });

  it('rolls back by hand to v1, without building', async () => {
    const r = await runCli(['rollback', 'shop', 'prod', '--to', 'v1', '--config', configFile, '--json'], env);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect(web.currentTag).toBe('v1');
  });

  it('stops the application (waiting until Coolify has), then starts it again through a Coolify deployment', async () => {
    const stop = await runCli(['stop', 'shop', 'prod', '--config', configFile, '--json'], env);
    expect(stop.code, stop.stderr).toBe(EXIT.ok);
    expect(stop.json<{ outcome: unknown }>().outcome).toMatchObject({ operation: 'stop', status: 'succeeded', version: 'v1' });
    expect(web.status).toMatch(/^exited/);
    const before = double.model.deployments.filter((d) => d.app === web).length;
    const start = await runCli(['start', 'shop', 'prod', '--config', configFile, '--json'], env);
    expect(start.code, start.stderr).toBe(EXIT.ok);
    expect(start.json<{ outcome: unknown }>().outcome).toMatchObject({ operation: 'start', status: 'succeeded', version: 'v1' });
    expect(web.status).toMatch(/^running/);
    expect(double.log.filter((l) => l.operationId === 'start-application-by-uuid' && l.path.includes(web.uuid))).toHaveLength(1);
    expect(double.model.deployments.filter((d) => d.app === web)).toHaveLength(before + 1);
    expect(web.currentTag).toBe('v1');
  });

  it('cancelled mid-build: the Coolify deployment is cancelled and the record ended', async () => {
    web.buildMs = 600_000;
    try {
      const started = runCli(['deploy', 'shop', 'prod', '--version', 'v4', '--config', configFile, '--no-wait', '--json'], env);
      const { workflowId } = (await started).json<{ workflowId: string }>();
      const handle = client.workflow.getHandle(workflowId);
      expect(await waitForStep(handle, ['wait-ready'])).toBe('wait-ready');
      await handle.cancel();
      await handle.result().catch(() => undefined);
      const ref = (await records.history({ fraise: 'shop', environment: 'prod' }, 1))[0];
      expect(ref).toMatchObject({ status: 'failed', error: expect.stringContaining('cancelled Coolify deployment') });
      expect(double.model.find(ref?.providerRef ?? '')?.status).toBe('cancelled-by-user');
      await saveHistory(client, workflowId, 'coolify-deploy-cancelled');
    } finally {
      web.buildMs = 3_000;
    }
  });

  it('sees the end through the webhook, at once; without it, at its next look', async () => {
    web.buildMs = 20_000; // 2 s at speed 10
    try {
      const timed = async (): Promise<number> => {
        const r = await deploy('prod', `w${Date.now() % 100000}`);
        expect(r.code, r.stderr).toBe(EXIT.ok);
        const d = double.model.deployments.filter((x) => x.app === web).at(-1);
        const rows = await records.history({ fraise: 'shop', environment: 'prod' }, 1);
        return (rows[0]?.finishedAt?.getTime() ?? NaN) - (d?.finishedAt?.getTime() ?? NaN);
      };
      const pushed = await timed();
      double.faults.webhook = 'never';
      const polled = await timed();
      process.stdout.write(`coolify: end seen ${pushed} ms after Coolify finished with the webhook, ${polled} ms without (poll_max_interval 2s)\n`);
      expect(Number.isFinite(pushed) && Number.isFinite(polled)).toBe(true);
    } finally {
      web.buildMs = 3_000;
    }
  });

  it('a webhook posted twice, one posted after the poll saw the end, and slow answers: every deploy ends once', async () => {
    const lastDeployment = () => double.model.deployments.filter((x) => x.app === web).at(-1)?.uuid ?? '';
    const deliveries = (uuid: string) => double.webhooks.filter((w) => w.deploymentUuid === uuid);
    const signals = async (workflowId: string) =>
      ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    Object.assign(double.faults, { webhook: 'twice', delayMs: 300 });
    try {
      const twice = await deploy('prod', 'twice1');
      expect(twice.code, twice.stderr).toBe(EXIT.ok);
      const first = lastDeployment();
      await until('both webhooks', () => deliveries(first).length === 2);
      expect(deliveries(first).map((w) => w.status)).toEqual([202, 202]);

      // Posted 4 s after the end: the poll (every 2 s at most) has seen it first; the late one changes nothing.
      Object.assign(double.faults, { webhook: 'late', webhookDelayMs: 4_000 });
      const late = await deploy('prod', 'late1');
      expect(late.code, late.stderr).toBe(EXIT.ok);
      const second = lastDeployment();
      expect(deliveries(second)).toEqual([]);
      const [recorded] = await records.history({ fraise: 'shop', environment: 'prod' }, 1);
      await until('the late webhook', () => deliveries(second).length === 1, 10_000);
      expect(deliveries(second)[0]?.status).toBe(202); // accepted: Coolify would post it again otherwise
      const [after] = await records.history({ fraise: 'shop', environment: 'prod' }, 1);
      expect(after).toEqual(recorded);
      expect(after).toMatchObject({ version: 'late1', status: 'succeeded', providerRef: second });
      expect(await signals(late.json<{ workflowId: string }>().workflowId)).toBe(0);
      expect(deploysOf(web)).toBeGreaterThanOrEqual(2);
      const rows = await records.history({ fraise: 'shop', environment: 'prod' }, 2);
      expect(rows.map((r) => [r.version, r.providerRef])).toEqual([['late1', second], ['twice1', first]]);
    } finally {
      Object.assign(double.faults, { delayMs: 0 });
    }
  });

  it('`fraisier webhooks serve`: prints the URL to give Coolify, signals the waiting deploy, stops on SIGTERM', async () => {
    const bad = await runCli(['webhooks', 'serve', '--port', 'eighty'], env);
    expect(bad.code).toBe(EXIT.badInput);
    expect(bad.stderr).toMatch(/--port eighty: a port from 0 to 65535/);

    const secret = 'cli-served-secret-0123456789';
    const served = spawnCli(['webhooks', 'serve', '--port', '0'], { ...env, FRAISIER_WEBHOOK_SECRET: secret });
    let stdout = '';
    let stderr = '';
    served.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    served.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await until('the webhook URL', () => /http:\/\/127\.0\.0\.1:\d+\S*/.test(stdout), 60_000);
      const url = /http:\/\/127\.0\.0\.1:\d+\S*/.exec(stdout)?.[0] ?? '';
      expect(url).toMatch(new RegExp(`/webhooks/coolify/${secret}$`));
      double.setWebhook(url);
      web.buildMs = 20_000; // 2 s at speed 10: the webhook comes before the first look after 1 s + 2 s
      const r = await deploy('prod', `served${Date.now() % 100000}`);
      expect(r.code, r.stderr).toBe(EXIT.ok);
      const events = (await client.workflow.getHandle(r.json<{ workflowId: string }>().workflowId).fetchHistory()).events ?? [];
      expect(events.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(1);
      expect(stderr).toMatch(/webhook: deployment_success of [a-z0-9]+ -> signalled coolify:shop:prod/);
      served.kill('SIGTERM');
      expect((await served).exitCode).toBe(EXIT.ok);
    } finally {
      web.buildMs = 3_000;
      double.setWebhook(receiver.url);
      served.kill('SIGKILL');
    }
  });

  it('logs and provider-test; a token without the deploy ability: refused before anything changed, exit 2, naming it', async () => {
    const logs = await runCli(['logs', 'shop', 'prod', '--config', configFile], env);
    expect(logs.code, logs.stderr).toBe(EXIT.ok);
    expect(logs.stdout).toContain('web');
    const test = await runCli(['provider-test', 'shop', 'prod', '--config', configFile, '--json'], env);
    expect(test.json<{ ok: boolean }>().ok).toBe(true);
    const before = deploysOf(web);
    const weak = await deploy('weak', 'v9');
    expect(weak.code).toBe(EXIT.badInput);
    expect(weak.stderr + weak.stdout).toMatch(/lacks the "deploy" ability/);
    expect(deploysOf(web)).toBe(before);
  });

  it('an ephemeral deploy, looked up by names, is deleted by cleanup', async () => {
    const r = await deploy('preview', 'p1', ['--ttl', '1s']);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect(preview.envs.find((e) => e.key === 'APP_VERSION')?.value).toBe('p1');
    await new Promise((res) => setTimeout(res, 1_200));
    const cleaned = await runCli(['cleanup', '--json'], env);
    expect(cleaned.code, cleaned.stderr).toBe(EXIT.ok);
    expect(cleaned.json<{ cleaned: string[] }>().cleaned).toEqual(['shop/preview (coolify) [p1]']);
    expect(double.model.apps.has(preview.uuid)).toBe(false);
  });
});

describe('coolify under faults', () => {
  it('with 20% errors and resets and 429s, 50 deploys over 10 applications all end, none triggered twice', async () => {
    const apps = Array.from({ length: 10 }, (_, i) => double.model.addApp({ name: `busy${i}`, buildMs: 2_000 }));
    const target = (app: App): Target => ({
      fraise: `busy${app.name.slice(4)}`,
      environment: 'prod',
      provider: 'coolify',
      config: { coolify_url: double.url, application_uuid: app.uuid, token_env: 'COOLIFY_API_TOKEN', force: false },
      retain: 5,
      bounds: { changeSeconds: 120, readySeconds: 120, pollMaxSeconds: 1 },
    });
    Object.assign(double.faults, { errorRate: 0.2, rateLimitRate: 0.05, retryAfterSeconds: 1, webhook: 'never' });
    try {
      const outcomes = await Promise.all(
        apps.map(async (app) => {
          const ends: string[] = [];
          for (let i = 1; i <= 5; i++) {
            const handle = await startDeployUnderLock(client, target(app), `f${i}`, 'faults', taskQueue);
            ends.push(await handle.result().then((o) => o.status, (err: unknown) => `failed: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`));
          }
          return ends;
        }),
      );
      const all = outcomes.flat();
      const reasons = new Map<string, number>();
      for (const s of all.filter((x) => x !== 'succeeded')) {
        const reason = s.replace(/[a-z0-9]{24}/g, '<uuid>').replace(/busy\d/g, 'busyN').replace(/f\d\b/g, 'fN').slice(0, 160);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      process.stdout.write(`coolify under faults: ${all.filter((s) => s === 'succeeded').length}/50 succeeded; the others: ${JSON.stringify([...reasons])}\n`);
      expect(all).toHaveLength(50);
    } finally {
      Object.assign(double.faults, { errorRate: 0, rateLimitRate: 0 });
    }
    for (const app of apps) {
      // A deploy refused before it recorded its start (its pre-flight failed through the faults) has no row.
      const rows = await records.history({ fraise: `busy${app.name.slice(4)}`, environment: 'prod' }, 100);
      expect(rows.length).toBeLessThanOrEqual(5);
      expect(rows.every((r) => r.status !== 'running')).toBe(true);
      // Every Coolify deployment of the application belongs to exactly one operation: nothing was deployed twice.
      const created = double.model.deployments.filter((d) => d.app === app && !d.rollback).map((d) => d.uuid);
      const recorded = rows.filter((r) => r.operation === 'deploy').map((r) => r.providerRef).filter((r): r is string => r !== null);
      expect(new Set(recorded).size).toBe(recorded.length);
      expect(created.filter((uuid) => !recorded.includes(uuid))).toEqual([]);
    }
  });
});

describe('coolify, a worker killed while it waits', () => {
  it('the wait resumes on another worker, and Coolify is never asked to deploy twice', async () => {
    const app = double.model.addApp({ name: 'killed', buildMs: 80_000 }); // 8 s at speed 10
    const queue = `${taskQueue}-kill`;
    const workerEnv = { ...env, FRAISIER_TASK_QUEUE: queue, COOLIFY_API_TOKEN: TOKEN };
    const first = spawnWorker(workerEnv);
    let second: SpawnedWorker | undefined;
    try {
      expect(await first.ready(), first.output()).toBe(true);
      const target: Target = {
        fraise: 'killed',
        environment: 'prod',
        provider: 'coolify',
        config: { coolify_url: double.url, application_uuid: app.uuid, token_env: 'COOLIFY_API_TOKEN', force: false },
        retain: 5,
        bounds: { changeSeconds: 120, readySeconds: 120, pollMaxSeconds: 1 },
      };
      double.faults.webhook = 'never';
      const handle = await startDeployUnderLock(client, target, 'k1', 'kill-test', queue);
      expect(await waitForStep(handle, ['wait-ready'])).toBe('wait-ready');
      await new Promise((r) => setTimeout(r, 1_000));
      second = spawnWorker(workerEnv);
      expect(await second.ready(), second.output()).toBe(true);
      first.kill('SIGKILL');
      expect(await handle.result()).toMatchObject({ status: 'succeeded', version: 'k1' });
      expect(deploysOf(app)).toBe(1);
      expect(double.model.deployments.filter((d) => d.app === app)).toHaveLength(1);
      const attempts = ((await handle.fetchHistory()).events ?? []).flatMap((e) => e.activityTaskStartedEventAttributes?.attempt ?? []);
      expect(attempts.filter((a) => a > 1)).toEqual([2]);
    } finally {
      first.kill();
      second?.kill();
    }
  });
});
