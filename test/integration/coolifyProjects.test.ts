/**
 * The Coolify backend of projects against the contract-validated Coolify double: each call as a project activity
 * makes it (a StackContext with the settings and a deadline). Retrying a call after a passing failure is the
 * test's here (as Temporal does it for the activities), never the backend's.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCoolifyProjectBackend, stackName } from '../../activities/projects/backends/coolify/index';
import { ProjectInputError, type ProjectStackBackend, type StackContext, type StackSpec } from '../../activities/projects/backends/contract';
import { createCommandRunner } from '../../activities/runner';
import type { ProjectRef, StackState } from '../../domain/projectOperations';
import type { ProjectsSettings } from '../../domain/projects';
import { loadContract } from '../coolifyDouble/contract';
import { DEFAULT_SERVER_UUID } from '../coolifyDouble/model';
import { startCoolifyDouble, type CoolifyDouble } from '../coolifyDouble/server';

const TOKEN = 'projects-token';
let double: CoolifyDouble;
let http: Agent;
let backend: ProjectStackBackend;
const said: string[] = [];

const SETTINGS: ProjectsSettings = {
  template: '/unused/template.yml',
  secrets: [{ name: 'DB_PASSWORD', kind: 'password', length: 32 }],
  ports: ['API_PORT'],
  portRange: { from: 20_000, to: 29_999 },
  apiUrl: null,
  dbUrl: null,
  healthCheck: null,
  backend: 'coolify',
  readyTimeoutSeconds: 60,
  coolify: { serverUuid: DEFAULT_SERVER_UUID, destinationUuid: null, project: 'fraisier-projects' },
};

function ctx(settings: ProjectsSettings | null = SETTINGS): StackContext {
  return { run: createCommandRunner(), signal: new AbortController().signal, deadline: Date.now() + 30_000, settings, log: (m) => void said.push(m) };
}

const ref = (id: string): ProjectRef => ({ id, backend: 'coolify' });
const secretOf = (id: string) => `pw-${id}-s3cr3tvalue`;
function spec(id: string, compose = 'services:\n  api:\n    image: nginx:1.27\n    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n    ports: ["${API_PORT}:80"]\n'): StackSpec {
  return { project: ref(id), compose, env: { PROJECT_ID: id, API_PORT: '20001', DB_PASSWORD: secretOf(id) } };
}

/** Services created (201) under the project's name, counted on the double's log. */
const created = (id: string) =>
  double.log.filter((l) => l.operationId === 'create-service' && l.status === 201 && (l.body as { name?: string } | undefined)?.name === stackName(id)).length;

const serviceNamed = (id: string) => [...double.model.services.values()].find((s) => s.name === stackName(id));

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not ${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs the call again after a retryable failure, as Temporal retries an activity; input errors end it. */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ProjectInputError || attempt >= 200) throw err;
      const delay = err instanceof ApplicationFailure && typeof err.nextRetryDelay === 'number' ? err.nextRetryDelay : 10;
      await new Promise((r) => setTimeout(r, Math.min(Number(delay), 50)));
    }
  }
}

beforeAll(async () => {
  double = await startCoolifyDouble({ contract: await loadContract(), tokens: { [TOKEN]: ['read', 'write', 'deploy', 'read:sensitive'] }, speed: 10 });
  http = new Agent();
  backend = createCoolifyProjectBackend({ http, env: { COOLIFY_API_URL: double.url, COOLIFY_API_TOKEN: TOKEN }, pollMs: 25 });
});

afterEach(() => {
  expect(double.violations).toEqual([]);
  Object.assign(double.faults, { errorRate: 0, rateLimitRate: 0 });
});

afterAll(async () => {
  await double?.close();
  await http?.close();
  // No value of a secret in anything the backend said.
  expect(said.filter((line) => /s3cr3tvalue/.test(line))).toEqual([]);
});

describe('the coolify backend of projects', () => {
  it('up creates one service in its own environment, with the env vars, and starts it; a second up creates nothing', async () => {
    const { ref: uuid } = await backend.up(ctx(), spec('acme'));
    expect(uuid).toMatch(/^[a-z0-9]{24}$/);
    const service = double.model.services.get(uuid ?? '');
    expect(service?.name).toBe('fraisier-project-acme');
    expect(double.model.environments.find((e) => e.id === service?.environmentId)?.name).toBe('fraisier-project-acme');
    expect(double.model.projects.map((p) => p.name)).toContain('fraisier-projects');
    expect(service?.composeRaw).toContain('${DB_PASSWORD}');
    expect(Object.fromEntries((service?.envs ?? []).map((e) => [e.key, e.value]))).toEqual({ PROJECT_ID: 'acme', API_PORT: '20001', DB_PASSWORD: secretOf('acme') });
    await until('running', async () => (await backend.state(ctx(), ref('acme'), uuid ?? null)) === 'running');

    const envWrites = double.log.filter((l) => l.operationId === 'update-envs-by-service-uuid').length;
    const again = await backend.up(ctx(), spec('acme'));
    expect(again.ref).toBe(uuid);
    expect(created('acme')).toBe(1);
    expect(double.log.filter((l) => l.operationId === 'update-envs-by-service-uuid').length).toBe(envWrites); // nothing changed, nothing sent
    expect(double.log.filter((l) => l.operationId === 'create-project')).toHaveLength(1);
  });

  it('state follows Coolify; stop, start and down wait until Coolify has done them', async () => {
    const { ref: uuid = null } = await backend.up(ctx(), spec('bolt'));
    const states: StackState[] = [await backend.state(ctx(), ref('bolt'), uuid)];
    await until('running', async () => {
      states.push(await backend.state(ctx(), ref('bolt'), uuid));
      return states.at(-1) === 'running';
    });
    expect(states).toContain('stopped'); // exited:unhealthy before Coolify's job starts it
    expect(states).toContain('partial'); // starting:unknown

    await backend.stop(ctx(), ref('bolt'), uuid);
    expect(serviceNamed('bolt')?.status).toBe('exited:unhealthy');
    await backend.start(ctx(), ref('bolt'), null); // found by name too
    expect(serviceNamed('bolt')?.status).toBe('running:healthy');

    await backend.down(ctx(), ref('bolt'), uuid, { volumes: false });
    expect(serviceNamed('bolt')?.status).toBe('exited:unhealthy'); // kept, with its volumes, for a restore
    expect((await backend.up(ctx(), spec('bolt'))).ref).toBe(uuid);
    await until('running again', async () => (await backend.state(ctx(), ref('bolt'), uuid)) === 'running');

    await backend.down(ctx(), ref('bolt'), uuid, { volumes: true });
    expect(double.model.services.has(uuid ?? '')).toBe(false);
    expect(double.model.deletedServices).toContainEqual({ uuid, name: 'fraisier-project-bolt', volumes: true });
    expect(double.log.find((l) => l.operationId === 'delete-service-by-uuid')?.query).toMatchObject({ delete_volumes: 'true' });
    expect(double.model.environments.some((e) => e.name === 'fraisier-project-bolt')).toBe(false);
    expect(await backend.state(ctx(), ref('bolt'), uuid)).toBe('missing');
    await backend.down(ctx(), ref('bolt'), uuid, { volumes: true }); // nothing left: fine
    await backend.stop(ctx(), ref('bolt'), null);
    await expect(backend.start(ctx(), ref('bolt'), uuid)).rejects.toThrow(/project bolt has no Coolify service fraisier-project-bolt to start/);
  });

  it('a compose file Coolify refuses, missing settings, or no URL and token: input errors saying what to do', async () => {
    await expect(backend.up(ctx(), spec('broken', 'services: [not, a, mapping'))).rejects.toThrow(ProjectInputError);
    await expect(backend.up(ctx(), spec('broken', 'services: [not, a, mapping'))).rejects.toThrow(/POST \/services: Validation failed\. \(docker_compose_raw: Invalid docker-compose file/);
    await expect(backend.up(ctx(null), spec('nosettings'))).rejects.toThrow(/projects.coolify is missing .*server_uuid/);
    const blind = createCoolifyProjectBackend({ http, env: {} });
    await expect(blind.state(ctx(), ref('acme'), null)).rejects.toThrow(/has no COOLIFY_API_URL nor COOLIFY_API_TOKEN: set them/);
    const wrongServer = { ...SETTINGS, coolify: { serverUuid: 'nosuchserver000000000000', destinationUuid: null, project: 'fraisier-projects' } };
    await expect(backend.up(ctx(wrongServer), spec('lost'))).rejects.toThrow(/Server not found/);
    expect(created('broken') + created('lost')).toBe(0);
  });

  it('under 20% faults and 429s, up/stop/start/down retried as Temporal would: one service per project, each gone at the end', async () => {
    Object.assign(double.faults, { errorRate: 0.2, rateLimitRate: 0.1, retryAfterSeconds: 0 });
    const ids = ['f1', 'f2', 'f3'];
    await Promise.all(
      ids.map(async (id, i) => {
        const { ref: uuid = null } = await retried(() => backend.up(ctx(), spec(id)));
        const known = i === 0 ? null : uuid; // the first one as before its ref was recorded: found by name
        await retried(() => backend.start(ctx(), ref(id), known));
        await retried(() => backend.up(ctx(), spec(id))); // a provision retried after a lost answer
        await retried(() => backend.stop(ctx(), ref(id), known));
        await retried(() => backend.start(ctx(), ref(id), known));
        expect(await retried(() => backend.state(ctx(), ref(id), known))).toBe('running');
        await retried(() => backend.down(ctx(), ref(id), known, { volumes: true }));
        expect(await retried(() => backend.state(ctx(), ref(id), known))).toBe('missing');
      }),
    );
    for (const id of ids) expect(created(id)).toBe(1);
    expect(double.log.filter((l) => l.status === -1 || l.status >= 500).length).toBeGreaterThan(0);
    expect(double.log.filter((l) => l.status === 429).length).toBeGreaterThan(0);
    expect(double.model.projects.filter((p) => p.name === 'fraisier-projects')).toHaveLength(1);
  });
});
