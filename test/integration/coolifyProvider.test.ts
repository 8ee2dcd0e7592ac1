/**
 * The Coolify provider against the contract-validated Coolify double: each provider call as an activity makes it
 * (config parsed by its schema, a context with target state). Waiting between calls is the test's here; in a
 * deploy it is the workflow's.
 */
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../activities/runner';
import type { Provider } from '../../activities/providers/contract';
import { createCoolifyProvider } from '../../activities/providers/coolify/index';
import type { CoolifyConfig } from '../../config/providers/coolify';
import type { DeployStarted, Readiness } from '../../domain/release';
import type { Target } from '../../domain/target';
import { loadContract } from '../coolifyDouble/contract';
import { startCoolifyDouble, type CoolifyDouble } from '../coolifyDouble/server';
import { memoryState, providerContext } from '../support/providerContext';

let double: CoolifyDouble;
let http: Agent;
let provider: Provider<CoolifyConfig>;
const TOKEN = 'provider-token';

function ctxFor(config: Record<string, unknown>, state = memoryState(), attempt: { resumed?: unknown; checkpoint?: (value: unknown) => void } = {}) {
  const target: Target = { fraise: 'web', environment: 'prod', provider: 'coolify', config: { coolify_url: double.url, ...config }, retain: 5 };
  return providerContext<CoolifyConfig>(target, createCommandRunner(), { state, ...attempt });
}

async function settle(ctx: ReturnType<typeof ctxFor>, s: DeployStarted, ms = 15_000): Promise<Readiness> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await provider.readiness(ctx, s);
    if (r.state !== 'pending' || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

const calls = (operationId: string) => double.log.filter((l) => l.operationId === operationId);

beforeAll(async () => {
  double = await startCoolifyDouble({
    contract: await loadContract(),
    tokens: { [TOKEN]: ['read', 'write', 'deploy', 'read:sensitive'], 'read-only': ['read'], 'no-sensitive': ['read', 'write', 'deploy'] },
    speed: 20,
  });
  http = new Agent();
  provider = createCoolifyProvider({ run: createCommandRunner(), http, env: { COOLIFY_API_TOKEN: TOKEN, READ_ONLY: 'read-only' } });
});

afterEach(() => {
  expect(double.violations).toEqual([]);
});

afterAll(async () => {
  await double?.close();
  await http?.close();
});

describe('coolify provider', () => {
  it('deploys by image tag: the deployment uuid is the providerRef, ready once Coolify finished', async () => {
    const app = double.model.addApp({ name: 'tagged', buildMs: 20_000 }); // 1 s at speed 20
    const ctx = ctxFor({ application_uuid: app.uuid });
    const s = await provider.deploy(ctx, 'v2');
    expect(s.providerRef).toMatch(/^[a-z0-9]{24}$/);
    expect(s.release).toEqual({ version: 'v2', artifact: { application: app.uuid, tag: 'v2', via: 'image_tag' } });
    expect(await provider.readiness(ctx, s)).toMatchObject({ state: 'pending' });
    expect(await settle(ctx, s)).toMatchObject({ state: 'ready' });
    expect(await provider.status(ctx)).toMatchObject({ state: 'running', version: 'v2' });
    expect(await provider.logs(ctx, 10)).toContain('tagged v2 line 1');
  });

  it('sets the version in an env var instead, upserted: created once, then updated, never twice', async () => {
    const app = double.model.addApp({ name: 'byenv', buildMs: 200 });
    const ctx = ctxFor({ application_uuid: app.uuid, version_env: 'APP_VERSION' });
    await settle(ctx, await provider.deploy(ctx, 'v1'));
    await settle(ctx, await provider.deploy(ctx, 'v2'));
    expect(app.envs.filter((e) => e.key === 'APP_VERSION').map((e) => e.value)).toEqual(['v2']);
    expect(calls('create-env-by-application-uuid')).toHaveLength(1);
    expect(await provider.status(ctx)).toMatchObject({ version: 'v2' });
  });

  it('looks the application up by names once, then remembers it for the target', async () => {
    const app = double.model.addApp({ name: 'named', project: 'Shop', environment: 'staging', buildMs: 200 });
    const state = memoryState();
    const ctx = ctxFor({ project: 'Shop', environment: 'staging', application: 'named' }, state);
    const before = calls('list-projects').length;
    await settle(ctx, await provider.deploy(ctx, 'v1'));
    await provider.status(ctx);
    expect(state.current()).toEqual({ application_uuid: app.uuid });
    expect(calls('list-projects').length - before).toBe(1);
    await expect(provider.status(ctxFor({ project: 'Shop', environment: 'staging', application: 'nope' }))).rejects.toThrow(/has no application "nope" \(applications: named\)/);
  });

  it('follows the deployment already queued when Coolify dedupes a second deploy', async () => {
    const app = double.model.addApp({ name: 'dup', buildMs: 3_000 });
    const ctx = ctxFor({ application_uuid: app.uuid });
    const first = await provider.deploy(ctx, 'v3');
    const second = await provider.deploy(ctx, 'v3');
    expect(second.providerRef).toBe(first.providerRef);
    await settle(ctx, second);
  });

  it('a failed build: failed, with the last build lines, hidden ones left out and env values redacted', async () => {
    const app = double.model.addApp({ name: 'broken', buildMs: 200 });
    app.envs.push({ id: 99, uuid: 'envsecret000000000000000', key: 'SECRET_TOKEN', value: 's3cr3t-value', is_preview: false, is_literal: false, is_multiline: false, is_shown_once: false, created_at: new Date().toISOString(), updated_at: new Date().toISOString() });
    app.failNext = 1;
    const ctx = ctxFor({ application_uuid: app.uuid });
    const r = await settle(ctx, await provider.deploy(ctx, 'v2'));
    expect(r.state).toBe('failed');
    expect(r.detail).toMatch(/ended failed; last build lines:\n/);
    expect(r.detail).toContain('SECRET_TOKEN=***');
    expect(r.detail).not.toContain('s3cr3t-value');
    expect(r.detail).not.toContain('internal step');
  });

  it('a failed build seen with a token without read:sensitive says which ability to grant', async () => {
    const app = double.model.addApp({ name: 'blind', buildMs: 200 });
    app.failNext = 1;
    const blind = createCoolifyProvider({ run: createCommandRunner(), http, env: { COOLIFY_API_TOKEN: 'no-sensitive' } });
    const ctx = ctxFor({ application_uuid: app.uuid });
    const s = await blind.deploy(ctx, 'v2');
    let r = await blind.readiness(ctx, s);
    for (let i = 0; i < 300 && r.state === 'pending'; i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = await blind.readiness(ctx, s);
    }
    expect(r).toMatchObject({ state: 'failed', detail: expect.stringContaining('lacks the "read:sensitive" ability') });
  });

  it("waits for Coolify's own health check when it is on", async () => {
    const app = double.model.addApp({ name: 'healthy', buildMs: 200, healthCheckEnabled: true });
    const ctx = ctxFor({ application_uuid: app.uuid });
    expect(await settle(ctx, await provider.deploy(ctx, 'v1'))).toMatchObject({ state: 'ready', detail: expect.stringContaining('running:healthy') });
    expect(await provider.health(ctx)).toMatchObject({ ok: true, source: 'provider' });
  });

  it("rolls back to an image Coolify still keeps with /rollback, else deploys the version again", async () => {
    const app = double.model.addApp({ name: 'back', buildMs: 200 });
    const ctx = ctxFor({ application_uuid: app.uuid });
    await settle(ctx, await provider.deploy(ctx, 'v1'));
    await settle(ctx, await provider.deploy(ctx, 'v2'));
    const before = calls('rollback-application-by-uuid').length;
    const back = await provider.rollback(ctx, { version: 'v1', artifact: {} });
    expect(calls('rollback-application-by-uuid').length - before).toBe(1);
    expect(await settle(ctx, back)).toMatchObject({ state: 'ready' });
    expect(await provider.status(ctx)).toMatchObject({ version: 'v1' });
    const deploysBefore = calls('deploy-by-tag-or-uuid').length;
    await settle(ctx, await provider.rollback(ctx, { version: 'v0', artifact: {} }));
    expect(calls('deploy-by-tag-or-uuid').length - deploysBefore).toBe(1);
  });

  it('cancels its deployment, or, before deploy returned, whatever of the application is still pending', async () => {
    const app = double.model.addApp({ name: 'cancelled', buildMs: 5_000 });
    const ctx = ctxFor({ application_uuid: app.uuid });
    const s = await provider.deploy(ctx, 'v1');
    expect(await provider.cancel(ctx, s)).toEqual({ cancelled: true, detail: `cancelled Coolify deployment ${s.providerRef}` });
    expect(await provider.readiness(ctx, s)).toMatchObject({ state: 'failed', detail: expect.stringContaining('cancelled-by-user') });
    await provider.deploy(ctx, 'v2');
    expect(await provider.cancel(ctx, null)).toMatchObject({ cancelled: true });
    expect(await provider.cancel(ctx, null)).toEqual({ cancelled: false, detail: 'no Coolify deployment of it was still queued or running' });
  });

  it('stop and remove wait until Coolify has done them', async () => {
    const app = double.model.addApp({ name: 'gone', buildMs: 200 });
    const ctx = ctxFor({ application_uuid: app.uuid });
    await settle(ctx, await provider.deploy(ctx, 'v1'));
    await provider.stop(ctx);
    expect((await provider.status(ctx)).state).toBe('stopped');
    await provider.remove(ctx);
    expect(double.model.apps.has(app.uuid)).toBe(false);
    await provider.remove(ctx); // idempotent
  });

  it('a deploy retried after a fault resumes: the version is not applied twice, a queued deployment not queued again', async () => {
    const app = double.model.addApp({ name: 'redeploy', imageTag: 'v0' });
    const saved: unknown[] = [];
    const first = await provider.deploy(ctxFor({ application_uuid: app.uuid }, memoryState(), { checkpoint: (v) => saved.push(v) }), 'v1');
    expect(saved).toEqual([
      { uuid: app.uuid, version: 'v1', applied: true },
      { uuid: app.uuid, version: 'v1', applied: true, deployment: first.providerRef },
    ]);
    const ops = (from: number) => double.log.slice(from).map((l) => l.operationId);

    // Died after applying the version: the retry only queues.
    let from = double.log.length;
    const second = await provider.deploy(ctxFor({ application_uuid: app.uuid }, memoryState(), { resumed: saved[0] }), 'v1');
    expect(ops(from)).not.toContain('update-application-by-uuid');
    expect(ops(from).filter((o) => o === 'deploy-by-tag-or-uuid')).toHaveLength(1);
    expect(second.providerRef).toBe(first.providerRef); // Coolify's dedupe: the same build, followed

    // Died after queueing: the retry queues nothing.
    from = double.log.length;
    const third = await provider.deploy(ctxFor({ application_uuid: app.uuid }, memoryState(), { resumed: saved[1] }), 'v1');
    expect(ops(from)).not.toContain('deploy-by-tag-or-uuid');
    expect(ops(from)).not.toContain('update-application-by-uuid');
    expect(third.providerRef).toBe(first.providerRef);

    // A checkpoint of another version is not taken for this one.
    from = double.log.length;
    await provider.deploy(ctxFor({ application_uuid: app.uuid }, memoryState(), { resumed: saved[1] }), 'v2');
    expect(ops(from)).toContain('update-application-by-uuid');
  });

  it('pre-flight retried after a fault resumes: the checks an earlier attempt passed are not asked again', async () => {
    const app = double.model.addApp({ name: 'resumed' });
    const saved: unknown[] = [];
    const first = await provider.preflight(ctxFor({ application_uuid: app.uuid }, memoryState(), { checkpoint: (v) => saved.push(v) }));
    expect(first.ok).toBe(true);
    expect(saved).toHaveLength(5);
    // As if the attempt had died after its third check: the next one starts from that checkpoint.
    const requestsBefore = double.log.length;
    const resumed = await provider.preflight(ctxFor({ application_uuid: app.uuid }, memoryState(), { resumed: saved[2] }));
    expect(resumed).toEqual(first);
    const asked = double.log.slice(requestsBefore).map((l) => l.operationId);
    expect(asked).not.toContain('healthcheck');
    expect(asked).not.toContain('version');
    expect(asked).toEqual(['update-application-by-uuid', 'deploy-by-tag-or-uuid']);
  });

  it('pre-flight: the instance, the token and the application, each said', async () => {
    const app = double.model.addApp({ name: 'pre' });
    const ok = await provider.preflight(ctxFor({ application_uuid: app.uuid }));
    expect(ok.checks.map((c) => [c.name, c.ok])).toEqual([['health', true], ['token', true], ['application', true], ['ability:write', true], ['ability:deploy', true]]);
    const readOnly = createCoolifyProvider({ run: createCommandRunner(), http, env: { COOLIFY_API_TOKEN: 'read-only' } });
    const lacking = await readOnly.preflight(ctxFor({ application_uuid: app.uuid }));
    expect(lacking.ok).toBe(false);
    expect(lacking.checks.find((c) => c.name === 'ability:deploy')).toMatchObject({ ok: false, detail: expect.stringContaining('lacks the "deploy" ability') });
    expect(lacking.checks.find((c) => c.name === 'ability:write')).toMatchObject({ ok: false, detail: expect.stringContaining('lacks the "write" ability') });
    const noToken = await provider.preflight(ctxFor({ application_uuid: app.uuid, token_env: 'NO_SUCH_VARIABLE' }));
    expect(noToken).toMatchObject({ ok: false, checks: [{ name: 'config', ok: false, detail: expect.stringContaining('has no NO_SUCH_VARIABLE') }] });
    const weak = createCoolifyProvider({ run: createCommandRunner(), http, env: { COOLIFY_API_TOKEN: 'wrong-token' } });
    const refused = await weak.preflight(ctxFor({ application_uuid: app.uuid }));
    expect(refused.checks.find((c) => c.name === 'token')).toMatchObject({ ok: false, detail: expect.stringContaining('the API token was refused') });
  });
});
