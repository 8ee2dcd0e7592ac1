/**
 * The Coolify double (the only stand-in allowed: Coolify cannot run here) and fraisier's Coolify client against it.
 * The double validates every request and response against Coolify's own OpenAPI file: a test whose request the
 * real Coolify would refuse fails on the double's violations, checked after each test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderInputError } from '../../activities/providers/contract';
import { CoolifyHttpError, createCoolifyClient, type CoolifyClient } from '../../activities/coolify/client';
import { loadContract, type Contract } from '../coolifyDouble/contract';
import { MAX_BUILDS_PER_SERVER } from '../coolifyDouble/model';
import { startCoolifyDouble, type CoolifyDouble } from '../coolifyDouble/server';
import { until } from '../support/until';

const TOKEN = 'all-abilities';
let contract: Contract;
let double: CoolifyDouble;
let http: Agent;
let client: CoolifyClient;

const clientWith = (token: string) => createCoolifyClient({ baseUrl: double.url, token, http, timeoutMs: 5_000 });

beforeAll(async () => {
  contract = await loadContract();
  double = await startCoolifyDouble({
    contract,
    tokens: { [TOKEN]: ['read', 'write', 'deploy', 'read:sensitive'], 'read-only': ['read'], 'no-sensitive': ['read', 'write', 'deploy'] },
    speed: 20,
  });
  http = new Agent();
  client = clientWith(TOKEN);
});

afterEach(() => {
  // Every request the client sent, and every answer the double gave, matched Coolify's OpenAPI file.
  expect(double.violations).toEqual([]);
  Object.assign(double.faults, { errorRate: 0, rateLimitRate: 0, delayMs: 0, webhook: 'on-time' });
});

afterAll(async () => {
  await double?.close();
  await http?.close();
});

describe('the double holds to the contract', () => {
  it('refuses what Coolify refuses: an unknown field (422 "not allowed"), recorded as a violation', async () => {
    const app = double.model.addApp({ name: 'strict' });
    const err = await client.updateApplication(app.uuid, { docker_registry_image_tag: 'v2', bogus: true } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderInputError);
    expect((err as Error).message).toMatch(/Validation failed.*bogus: This field is not allowed/);
    expect(double.violations).toEqual([expect.objectContaining({ operationId: 'update-application-by-uuid', kind: 'request' })]);
    double.violations.length = 0;
  });

  it('records a request without "Accept: application/json"', async () => {
    const app = double.model.addApp({ name: 'accept' });
    const r = await fetch(`${double.url}/api/v1/applications/${app.uuid}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    expect(double.violations).toEqual([expect.objectContaining({ errors: [expect.stringContaining('Accept: application/json')] })]);
    double.violations.length = 0;
  });

  it('checks responses against the file: nullable fields and date-time formats, and the listed deviations', () => {
    expect(contract.checkResponse('get-deployment-by-uuid', 200, { deployment_uuid: 'x', docker_registry_image_tag: null })).toEqual([]);
    expect(contract.checkResponse('get-deployment-by-uuid', 200, { deployment_uuid: 'x', commit: null })).not.toEqual([]);
    expect(contract.checkResponse('get-application-by-uuid', 200, { uuid: 'x', created_at: 'yesterday' })).toEqual(['/created_at must match format "date-time"']);
    // GET /deployments/applications/{uuid}: the file says an array, Coolify sends {count, deployments}.
    expect(contract.checkResponse('list-deployments-by-app-uuid', 200, { count: 0, deployments: [] })).toEqual([]);
    expect(contract.checkResponse('list-deployments-by-app-uuid', 200, [])).not.toEqual([]);
  });
});

describe('deployments move on their own clock', () => {
  it('queued, in progress, finished; a second one of the same application waits behind the first', async () => {
    const app = double.model.addApp({ name: 'queue', buildMs: 2_000, imageTag: 'v1' });
    const [first] = await client.deploy(app.uuid, false);
    await client.updateApplication(app.uuid, { docker_registry_image_tag: 'v2' });
    const [second] = await client.deploy(app.uuid, false);
    await until('the first to build', async () => (await client.getDeployment(first?.deployment_uuid ?? '')).status === 'in_progress');
    expect((await client.getDeployment(second?.deployment_uuid ?? '')).status).toBe('queued');
    await until('both to finish', async () => (await client.getDeployment(second?.deployment_uuid ?? '')).status === 'finished');
    expect((await client.getApplication(app.uuid)).status).toBe('running:unknown');
    expect((await client.rollbackImages(app.uuid)).images?.map((i) => i.tag)).toEqual(['v1', 'v2']);
  });

  it(`builds at most ${MAX_BUILDS_PER_SERVER} at once per server`, async () => {
    const apps = Array.from({ length: 4 }, (_, i) => double.model.addApp({ name: `par${i}`, buildMs: 4_000, serverUuid: 'serverparallel0000000000' }));
    const uuids = (await Promise.all(apps.map((a) => client.deploy(a.uuid, false)))).map((r) => r[0]?.deployment_uuid ?? '');
    await until('two to build', async () => (await Promise.all(uuids.map((u) => client.getDeployment(u)))).filter((d) => d.status === 'in_progress').length === 2);
    const states = (await Promise.all(uuids.map((u) => client.getDeployment(u)))).map((d) => d.status);
    expect(states.filter((s) => s === 'queued')).toHaveLength(2);
  });

  it("answers a duplicate deploy with a uuid that does not exist (Coolify's dedupe); the real one is listed", async () => {
    const app = double.model.addApp({ name: 'dedupe', buildMs: 4_000 });
    const [real] = await client.deploy(app.uuid, false);
    const [dup] = await client.deploy(app.uuid, false);
    expect(dup?.message).toBe('Deployment already queued for this commit.');
    await expect(client.getDeployment(dup?.deployment_uuid ?? '')).rejects.toThrow(/Deployment not found/);
    expect((await client.listApplicationDeployments(app.uuid, 5)).map((d) => d.deployment_uuid)).toEqual([real?.deployment_uuid]);
  });

  it('a failed build: status failed, build log as a JSON string of lines (hidden ones marked), only for read:sensitive', async () => {
    const app = double.model.addApp({ name: 'fails', buildMs: 200 });
    app.failNext = 1;
    const [d] = await client.deploy(app.uuid, false);
    await until('the build to fail', async () => (await client.getDeployment(d?.deployment_uuid ?? '')).status === 'failed');
    const full = await client.getDeployment(d?.deployment_uuid ?? '');
    const lines = JSON.parse(full.logs ?? '[]') as Array<{ output: string; type: string; hidden: boolean }>;
    expect(lines.some((l) => l.type === 'stderr' && /build .* failed/.test(l.output))).toBe(true);
    expect(lines.some((l) => l.hidden)).toBe(true);
    expect((await clientWith('no-sensitive').getDeployment(d?.deployment_uuid ?? '')).logs).toBeUndefined();
  });

  it('cancels a queued or running deployment; a finished one cannot be cancelled', async () => {
    const app = double.model.addApp({ name: 'cancel', buildMs: 5_000 });
    const [d] = await client.deploy(app.uuid, false);
    await client.cancelDeployment(d?.deployment_uuid ?? '');
    expect((await client.getDeployment(d?.deployment_uuid ?? '')).status).toBe('cancelled-by-user');
    await expect(client.cancelDeployment(d?.deployment_uuid ?? '')).rejects.toThrow(/cannot be cancelled. Current status: cancelled-by-user/);
  });
});

describe("the client's errors", () => {
  it('a refused token, and a token without the deploy ability: input errors saying what to grant', async () => {
    const app = double.model.addApp({ name: 'auth' });
    const refused = await clientWith('wrong').getApplication(app.uuid).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderInputError);
    expect((refused as Error).message).toMatch(/Unauthenticated.*the API token was refused/);
    const weak = await clientWith('read-only').deploy(app.uuid, false).catch((e: unknown) => e);
    expect(weak).toBeInstanceOf(ProviderInputError);
    expect((weak as Error).message).toMatch(/the API token lacks the "deploy" ability, which fraisier needs to deploy/);
  });

  it('429: retried by Temporal after Retry-After, not by a loop of ours', async () => {
    const app = double.model.addApp({ name: 'limited' });
    Object.assign(double.faults, { rateLimitRate: 1, retryAfterSeconds: 7 });
    const err = await client.getApplication(app.uuid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBeFalsy();
    expect((err as ApplicationFailure).nextRetryDelay).toBe(7_000);
    expect(double.log.filter((l) => l.path === `/applications/${app.uuid}`)).toHaveLength(1);
  });

  it('5xx and connection resets: retryable errors', async () => {
    const app = double.model.addApp({ name: 'flaky' });
    Object.assign(double.faults, { errorRate: 1 });
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const err = await client.getApplication(app.uuid).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoolifyHttpError);
      seen.add((err as CoolifyHttpError).status === 0 ? 'reset' : String((err as CoolifyHttpError).status));
    }
    expect([...seen].sort()).toEqual(['500', '502', 'reset']);
  });

  it('404 and 422 with field errors are input errors naming them', async () => {
    await expect(client.getApplication('nosuchapplication0000000')).rejects.toThrow(ProviderInputError);
    const app = double.model.addApp({ name: 'roll' });
    await expect(client.rollback(app.uuid, 'v9')).rejects.toThrow(/Validation failed. \(commit: The image v9 is not available for rollback.\)/);
  });
});

describe('webhooks', () => {
  let receiver: Server;
  let received: Array<{ deployment_uuid: string; event: string }>;
  beforeAll(async () => {
    received = [];
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as { deployment_uuid: string; event: string });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    double.setWebhook(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  it('posts the end of a deployment, on time, twice, or never, as set', async () => {
    const app = double.model.addApp({ name: 'hooked', buildMs: 100 });
    const [d] = await client.deploy(app.uuid, false);
    await until('the webhook', () => received.some((r) => r.deployment_uuid === d?.deployment_uuid));
    expect(received.find((r) => r.deployment_uuid === d?.deployment_uuid)?.event).toBe('deployment_success');

    double.faults.webhook = 'twice';
    const [twice] = await client.deploy(app.uuid, true);
    await until('two webhooks', () => received.filter((r) => r.deployment_uuid === twice?.deployment_uuid).length === 2);

    double.faults.webhook = 'never';
    const [never] = await client.deploy(app.uuid, true);
    await until('the deployment to end', async () => (await client.getDeployment(never?.deployment_uuid ?? '')).status === 'finished');
    await new Promise((r) => setTimeout(r, 300));
    expect(received.filter((r) => r.deployment_uuid === never?.deployment_uuid)).toEqual([]);
  });
});
