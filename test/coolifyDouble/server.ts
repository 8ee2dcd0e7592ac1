/**
 * The Coolify double: a node:http server answering the endpoints fraisier uses as Coolify v4.3.10 does, with
 * every request and response checked against Coolify's OpenAPI file (contract.ts): what the real Coolify would
 * refuse is refused here too, and recorded as a violation the test that sent it must fail on. Faults (5xx, resets,
 * 429 with Retry-After, slow answers, failing builds, late / repeated / missing webhooks) are set by the tests.
 * Its own control endpoints live under /_double/ (not Coolify's API).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request as ApiRequest } from 'openapi-backend';
import type { Contract, Violation } from './contract';
import { parse as parseYaml } from 'yaml';
import { coolifyUuid, Model, type App, type Deployment, type EnvRow, type Environment, type Service } from './model';

export type Ability = 'read' | 'write' | 'deploy' | 'read:sensitive';

export interface Faults {
  /** Share (0..1) of API requests answered 500/502 or with a connection reset, before anything happens. */
  errorRate: number;
  /** Share of API requests answered 429 with Retry-After. */
  rateLimitRate: number;
  retryAfterSeconds: number;
  /** Added to every answer. */
  delayMs: number;
  webhook: 'on-time' | 'late' | 'twice' | 'never';
  webhookDelayMs: number;
}

export interface LogEntry {
  at: number;
  method: string;
  path: string;
  operationId: string | null;
  status: number;
  query: Record<string, string>;
  body: unknown;
}

export interface DoubleOptions {
  contract: Contract;
  /** Tokens and what each may do. */
  tokens: Record<string, Ability[]>;
  speed?: number;
  /** Seeds the fault lottery, so a run can be repeated. */
  seed?: number;
  bodyLimit?: number;
}

export interface CoolifyDouble {
  url: string;
  model: Model;
  faults: Faults;
  log: LogEntry[];
  violations: Violation[];
  /** Every webhook posted: the deployment, when, and the receiver's answer (0: no answer). */
  webhooks: WebhookDelivery[];
  setWebhook(url: string | null): void;
  close(): Promise<void>;
}

export interface WebhookDelivery {
  deploymentUuid: string;
  at: number;
  status: number;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** A small deterministic PRNG (mulberry32): the same seed, the same faults. */
function lottery(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const iso = (d: Date): string => d.toISOString();

export function deploymentJson(d: Deployment, sensitive: boolean): Record<string, unknown> {
  return {
    id: d.id,
    application_id: String(d.app.id),
    deployment_uuid: d.uuid,
    pull_request_id: 0,
    docker_registry_image_tag: d.tag,
    force_rebuild: d.force,
    commit: 'HEAD',
    status: d.status,
    is_webhook: false,
    is_api: true,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    ...(sensitive ? { logs: JSON.stringify(d.logs) } : {}),
    restart_only: false,
    server_id: 0,
    application_name: d.app.name,
    server_name: 'localhost',
    deployment_url: `/project/p/environment/e/application/${d.app.uuid}/deployment/${d.uuid}`,
    destination_id: '0',
    only_this_server: false,
    rollback: d.rollback,
  };
}

function environmentJson(e: Environment, projectId: number): Record<string, unknown> {
  return { id: e.id, uuid: e.uuid, name: e.name, project_id: projectId, created_at: iso(e.createdAt), updated_at: iso(e.createdAt), description: '' };
}

function appJson(app: App): Record<string, unknown> {
  return {
    id: app.id,
    uuid: app.uuid,
    name: app.name,
    fqdn: app.fqdn,
    status: app.status,
    docker_registry_image_name: app.imageName,
    docker_registry_image_tag: app.imageTag,
    health_check_enabled: app.healthCheckEnabled,
    created_at: iso(app.createdAt),
    updated_at: iso(app.updatedAt),
  };
}

function serviceJson(s: Service): Record<string, unknown> {
  return {
    id: s.id,
    uuid: s.uuid,
    name: s.name,
    environment_id: s.environmentId,
    server_id: 0,
    description: '',
    docker_compose_raw: s.composeRaw,
    docker_compose: s.composeRaw,
    destination_type: 'App\\Models\\StandaloneDocker',
    destination_id: 0,
    connect_to_docker_network: false,
    is_container_label_escape_enabled: true,
    is_container_label_readonly_enabled: true,
    service_type: 'custom',
    status: s.status,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
  };
}

function envJson(e: EnvRow): Record<string, unknown> {
  return { ...e, is_runtime: true, is_buildtime: true, is_shared: false, real_value: e.value };
}

/**
 * The compose file of a create or update: Coolify takes it base64-encoded and refuses (422) what does not decode
 * strictly or is no compose file with services.
 */
function decodeCompose(raw: unknown): { compose: string } | { error: string } {
  if (typeof raw !== 'string' || raw === '') return { error: 'The docker_compose_raw field is required.' };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) return { error: 'The docker_compose_raw should be base64 encoded.' };
  const compose = Buffer.from(raw, 'base64').toString('utf8');
  let doc: unknown;
  try {
    doc = parseYaml(compose);
  } catch {
    return { error: 'Invalid docker-compose file.' };
  }
  const services = (doc as { services?: unknown } | null)?.services;
  if (typeof services !== 'object' || services === null || Array.isArray(services) || Object.keys(services).length === 0) {
    return { error: 'Invalid docker-compose file: no services.' };
  }
  return { compose };
}

export async function startCoolifyDouble(options: DoubleOptions, host = '127.0.0.1', port = 0): Promise<CoolifyDouble> {
  const { contract } = options;
  const random = lottery(options.seed ?? 1);
  const faults: Faults = { errorRate: 0, rateLimitRate: 0, retryAfterSeconds: 1, delayMs: 0, webhook: 'on-time', webhookDelayMs: 2_000 };
  const log: LogEntry[] = [];
  const webhooks: WebhookDelivery[] = [];
  const violations: Violation[] = [];
  let webhookUrl: string | null = null;

  const sendWebhook = (d: Deployment): void => {
    if (!webhookUrl || faults.webhook === 'never' || (d.status !== 'finished' && d.status !== 'failed')) return;
    const body = JSON.stringify({
      success: d.status === 'finished',
      message: d.status === 'finished' ? 'New version successfully deployed' : 'Deployment failed',
      event: d.status === 'finished' ? 'deployment_success' : 'deployment_failed',
      application_name: d.app.name,
      application_uuid: d.app.uuid,
      deployment_uuid: d.uuid,
      deployment_url: `/deployment/${d.uuid}`,
      project: 'p',
      environment: 'e',
      fqdn: d.app.fqdn,
    });
    const target = webhookUrl;
    const post = () =>
      fetch(target, { method: 'POST', headers: JSON_TYPE, body })
        .then((r) => r.status)
        .catch(() => 0)
        .then((status) => void webhooks.push({ deploymentUuid: d.uuid, at: Date.now(), status }));
    const delay = faults.webhook === 'late' ? faults.webhookDelayMs : 0;
    setTimeout(() => {
      void post();
      if (faults.webhook === 'twice') setTimeout(() => void post(), 50);
    }, delay);
  };
  const model = new Model(sendWebhook);
  model.speed = options.speed ?? 1;
  const clock = setInterval(() => model.tick(), 25);

  type Reply = { status: number; body: unknown; text?: string; headers?: Record<string, string> };
  const reply = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, body, ...(headers ? { headers } : {}) });
  const notFound = (what = 'Resource not found.'): Reply => reply(404, { message: what });

  function handlers(operationId: string, req: ApiRequest, abilities: Ability[]): Reply {
    const params = (req.params ?? {}) as Record<string, string>;
    const query = (req.query ?? {}) as Record<string, string>;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const app = params.uuid ? model.apps.get(params.uuid) : undefined;
    const liveApp = app && app.deletedAt === null ? app : undefined;
    // Abilities are checked first, as Coolify's route middleware does: a token without one gets 403 even for a
    // resource that does not exist.
    const need = (ability: Ability): Reply | undefined =>
      abilities.includes(ability) || (ability === 'read' && abilities.includes('read:sensitive')) ? undefined : reply(403, { message: `Missing required permissions: ${ability}` });
    switch (operationId) {
      case 'version':
        return need('read') ?? { status: 200, body: undefined, text: '4.3.10' };
      case 'list-projects':
        return need('read') ?? reply(200, model.projects.map((p) => ({ id: p.id, uuid: p.uuid, name: p.name, description: '' })));
      case 'get-project-by-uuid': {
        const denied = need('read');
        if (denied) return denied;
        const p = model.projects.find((x) => x.uuid === params.uuid);
        if (!p) return notFound('Project not found.');
        return reply(200, { id: p.id, uuid: p.uuid, name: p.name, description: '', environments: model.environments.filter((e) => e.projectUuid === p.uuid).map((e) => environmentJson(e, p.id)) });
      }
      case 'create-project': {
        const denied = need('write');
        if (denied) return denied;
        if (typeof body.name !== 'string' || body.name === '') return reply(422, { message: 'Validation failed.', errors: { name: ['The name field is required.'] } });
        return reply(201, { uuid: model.createProject(body.name).uuid });
      }
      case 'create-environment': {
        const denied = need('write');
        if (denied) return denied;
        const p = model.projects.find((x) => x.uuid === params.uuid);
        if (!p) return notFound('Project not found.');
        if (typeof body.name !== 'string' || body.name === '') return reply(422, { message: 'Validation failed.', errors: { name: ['The name field is required.'] } });
        if (model.environments.some((e) => e.projectUuid === p.uuid && e.name === body.name)) return reply(409, { message: 'Environment with this name already exists.' });
        return reply(201, { uuid: model.createEnvironment(p.uuid, body.name).uuid });
      }
      case 'delete-environment': {
        const denied = need('write');
        if (denied) return denied;
        const env = model.findEnvironment(params.uuid ?? '', params.environment_name_or_uuid ?? '');
        if (!env) return notFound('Environment not found.');
        const project = model.projects.find((x) => x.uuid === env.projectUuid);
        const busy = [...model.services.values()].some((x) => x.environmentId === env.id) || [...model.apps.values()].some((a) => a.project === project?.name && a.environment === env.name && a.deletedAt === null);
        if (busy) return reply(400, { message: 'Environment has resources, delete them first.' });
        model.environments.splice(model.environments.indexOf(env), 1);
        return reply(200, { message: 'Environment deleted.' });
      }
      case 'get-environment-by-name-or-uuid': {
        const denied = need('read');
        if (denied) return denied;
        const p = model.projects.find((x) => x.uuid === params.uuid);
        const env = p ? model.findEnvironment(p.uuid, params.environment_name_or_uuid ?? '') : undefined;
        if (!p || !env) return notFound('Environment not found.');
        const apps = [...model.apps.values()].filter((a) => a.project === p.name && a.environment === env.name && a.deletedAt === null);
        const services = [...model.services.values()].filter((x) => x.environmentId === env.id);
        return reply(200, { ...environmentJson(env, p.id), applications: apps.map(appJson), services: services.map(serviceJson) });
      }
      case 'create-service': {
        const denied = need('write');
        if (denied) return denied;
        if (typeof body.type === 'string') return reply(422, { message: 'Validation failed.', errors: { type: ['The double knows no one-click services: send docker_compose_raw.'] } });
        const decoded = decodeCompose(body.docker_compose_raw);
        if ('error' in decoded) return reply(422, { message: 'Validation failed.', errors: { docker_compose_raw: [decoded.error] } });
        const p = model.projects.find((x) => x.uuid === body.project_uuid);
        if (!p) return notFound('Project not found.');
        // The environment by name first (COOLIFY-NOTES.md, Applications: "name tried first").
        const env = model.findEnvironment(p.uuid, String(body.environment_name ?? '')) ?? model.findEnvironment(p.uuid, String(body.environment_uuid ?? ''));
        if (!env) return notFound('Environment not found.');
        if (!model.servers.has(String(body.server_uuid))) return notFound('Server not found.');
        const created = model.addService({ name: typeof body.name === 'string' ? body.name : `service-${coolifyUuid().slice(0, 8)}`, projectUuid: p.uuid, environment: env, serverUuid: String(body.server_uuid), composeRaw: decoded.compose });
        if (body.instant_deploy === true) model.startService(created);
        return reply(201, { uuid: created.uuid, domains: [] });
      }
      case 'get-service-by-uuid': {
        const denied = need('read');
        if (denied) return denied;
        const found = model.services.get(params.uuid ?? '');
        return found ? reply(200, serviceJson(found)) : notFound('Service not found.');
      }
      case 'update-service-by-uuid': {
        const denied = need('write');
        if (denied) return denied;
        const found = model.services.get(params.uuid ?? '');
        if (!found) return notFound('Service not found.');
        if (body.docker_compose_raw !== undefined) {
          const decoded = decodeCompose(body.docker_compose_raw);
          if ('error' in decoded) return reply(422, { message: 'Validation failed.', errors: { docker_compose_raw: [decoded.error] } });
          found.composeRaw = decoded.compose;
        }
        found.updatedAt = new Date();
        return reply(200, { uuid: found.uuid, domains: [] });
      }
      case 'start-service-by-uuid':
      case 'restart-service-by-uuid':
      case 'stop-service-by-uuid': {
        const denied = need('deploy');
        if (denied) return denied;
        const found = model.services.get(params.uuid ?? '');
        if (!found) return notFound('Service not found.');
        if (operationId === 'stop-service-by-uuid') model.stopService(found);
        else model.startService(found);
        const messages: Record<string, string> = { 'start-service-by-uuid': 'Service starting request queued.', 'restart-service-by-uuid': 'Service restaring request queued.', 'stop-service-by-uuid': 'Service stopping request queued.' };
        return reply(200, { message: messages[operationId] });
      }
      case 'delete-service-by-uuid': {
        const denied = need('write');
        if (denied) return denied;
        const found = model.services.get(params.uuid ?? '');
        if (!found) return notFound('Service not found.');
        // A second DELETE while the first is queued queues another (the record is still there): harmless.
        if (!found.deletion) model.deleteService(found, query.delete_volumes !== 'false');
        return reply(200, { message: 'Service deletion request queued.' });
      }
      case 'list-envs-by-service-uuid': {
        const denied = need('read');
        if (denied) return denied;
        const found = model.services.get(params.uuid ?? '');
        return found ? reply(200, found.envs.map(envJson)) : notFound('Service not found.');
      }
      case 'update-envs-by-service-uuid': {
        const denied = need('write');
        if (denied) return denied;
        const found = model.services.get(params.uuid ?? '');
        if (!found) return notFound('Service not found.');
        const items = Array.isArray(body.data) ? (body.data as Array<Record<string, unknown>>) : [];
        const saved: EnvRow[] = [];
        // Each item is saved as it comes: a bad one stops the rest, those before it stay (not transactional).
        for (const [i, item] of items.entries()) {
          if (typeof item.key !== 'string' || item.key === '' || typeof item.value !== 'string') {
            return reply(422, { message: 'Validation failed.', errors: { [`data.${i}`]: ['key and value are required.'] } });
          }
          const now = iso(new Date());
          const existing = found.envs.find((e) => e.key === item.key && e.is_preview === Boolean(item.is_preview));
          if (existing) {
            existing.value = item.value;
            existing.updated_at = now;
            saved.push(existing);
          } else {
            const row: EnvRow = { id: found.id * 1000 + found.envs.length + 1, uuid: coolifyUuid(), key: item.key, value: item.value, is_preview: Boolean(item.is_preview), is_literal: Boolean(item.is_literal), is_multiline: Boolean(item.is_multiline), is_shown_once: Boolean(item.is_shown_once), created_at: now, updated_at: now };
            found.envs.push(row);
            saved.push(row);
          }
        }
        return reply(201, saved.map(envJson));
      }
      case 'get-application-by-uuid':
        return need('read') ?? (app ? reply(200, appJson(app)) : notFound());
      case 'update-application-by-uuid': {
        const denied = need('write');
        if (denied) return denied;
        if (!liveApp) return notFound();
        if (typeof body.docker_registry_image_tag === 'string') liveApp.imageTag = body.docker_registry_image_tag;
        if (typeof body.docker_registry_image_name === 'string') liveApp.imageName = body.docker_registry_image_name;
        if (typeof body.health_check_enabled === 'boolean') liveApp.healthCheckEnabled = body.health_check_enabled;
        liveApp.updatedAt = new Date();
        return reply(200, { uuid: liveApp.uuid });
      }
      case 'list-envs-by-application-uuid':
        return need('read') ?? (liveApp ? reply(200, liveApp.envs.map((e) => ({ ...e, is_runtime: true, is_buildtime: true, is_shared: false, real_value: e.value }))) : notFound());
      case 'create-env-by-application-uuid': {
        const denied = need('write');
        if (denied) return denied;
        if (!liveApp) return notFound();
        if (liveApp.envs.some((e) => e.key === body.key)) return reply(409, { message: `Environment variable ${String(body.key)} already exists. Use PATCH request to update it.` });
        const now = iso(new Date());
        const env = { id: model.apps.size + liveApp.envs.length + 1, uuid: coolifyUuid(), key: String(body.key), value: String(body.value ?? ''), is_preview: Boolean(body.is_preview), is_literal: Boolean(body.is_literal), is_multiline: Boolean(body.is_multiline), is_shown_once: Boolean(body.is_shown_once), created_at: now, updated_at: now };
        liveApp.envs.push(env);
        return reply(201, { uuid: env.uuid });
      }
      case 'update-env-by-application-uuid': {
        const denied = need('write');
        if (denied) return denied;
        if (!liveApp) return notFound();
        const env = liveApp.envs.find((e) => e.key === body.key);
        if (!env) return notFound('Environment variable not found.');
        env.value = String(body.value);
        env.updated_at = iso(new Date());
        return reply(201, { ...env, is_runtime: true, is_buildtime: true, is_shared: false, real_value: env.value });
      }
      case 'deploy-by-tag-or-uuid': {
        const denied = need('deploy');
        if (denied) return denied;
        const uuids = String(query.uuid ?? '').split(',').filter(Boolean);
        const apps = uuids.map((u) => model.apps.get(u)).filter((a): a is App => a !== undefined && a.deletedAt === null);
        if (apps.length === 0) return reply(404, { message: 'No resources found.' });
        const force = query.force === 'true' || query.force === '1';
        const deployments = apps.map((a) => {
          const pending = force ? undefined : model.pendingFor(a, a.imageTag);
          // The dedupe quirk: the uuid answered was never stored.
          if (pending) return { message: 'Deployment already queued for this commit.', resource_uuid: a.uuid, deployment_uuid: coolifyUuid() };
          const d = model.queue(a, { force });
          return { message: 'Application deployment queued.', resource_uuid: a.uuid, deployment_uuid: d.uuid };
        });
        return reply(200, { deployments });
      }
      case 'list-deployments':
        return need('read') ?? reply(200, model.deployments.filter((d) => d.status === 'queued' || d.status === 'in_progress').map((d) => deploymentJson(d, false)));
      case 'get-deployment-by-uuid': {
        const denied = need('read');
        if (denied) return denied;
        const d = model.find(params.uuid ?? '');
        return d ? reply(200, deploymentJson(d, abilities.includes('read:sensitive'))) : notFound('Deployment not found.');
      }
      case 'list-deployments-by-app-uuid': {
        const denied = need('read');
        if (denied) return denied;
        if (!app) return notFound('Application not found.');
        const all = model.deployments.filter((d) => d.app === app).reverse();
        const skip = Number(query.skip ?? 0);
        const take = Number(query.take ?? 10);
        return reply(200, { count: all.length, deployments: all.slice(skip, skip + take).map((d) => deploymentJson(d, false)) });
      }
      case 'cancel-deployment-by-uuid': {
        const denied = need('deploy');
        if (denied) return denied;
        const d = model.find(params.uuid ?? '');
        if (!d) return notFound('Deployment not found.');
        if (d.status !== 'queued' && d.status !== 'in_progress') return reply(400, { message: `Deployment cannot be cancelled. Current status: ${d.status}` });
        model.cancel(d);
        return reply(200, { message: 'Deployment cancelled successfully.', deployment_uuid: d.uuid, status: 'cancelled-by-user' });
      }
      case 'start-application-by-uuid':
      case 'restart-application-by-uuid': {
        const denied = need('deploy');
        if (denied) return denied;
        if (!liveApp) return notFound();
        const d = model.queue(liveApp, { force: false });
        return reply(200, { message: operationId === 'start-application-by-uuid' ? 'Deployment request queued.' : 'Restart request queued.', deployment_uuid: d.uuid });
      }
      case 'stop-application-by-uuid': {
        const denied = need('deploy');
        if (denied) return denied;
        if (!liveApp) return notFound();
        liveApp.stoppingUntil = Date.now() + 1_000 / model.speed;
        return reply(200, { message: 'Application stopping request queued.' });
      }
      case 'get-application-logs-by-uuid': {
        const denied = need('read');
        if (denied) return denied;
        if (!liveApp) return notFound();
        if (!liveApp.status.startsWith('running')) return reply(400, { message: 'Application is not running.' });
        const lines = Math.min(10_000, Number(query.lines ?? 100));
        return reply(200, { logs: Array.from({ length: Math.min(lines, 3) }, (_, i) => `${liveApp.name} ${liveApp.currentTag ?? ''} line ${i + 1}`).join('\n') });
      }
      case 'list-application-rollback-images':
        return need('read') ?? (liveApp ? reply(200, { current: liveApp.currentTag, images: liveApp.images.map((i) => ({ ...i, is_current: i.tag === liveApp.currentTag })) }) : notFound());
      case 'rollback-application-by-uuid': {
        const denied = need('deploy');
        if (denied) return denied;
        if (!liveApp) return notFound();
        const tag = String(body.commit ?? '');
        if (!liveApp.images.some((i) => i.tag === tag)) return reply(422, { message: 'Validation failed.', errors: { commit: [`The image ${tag} is not available for rollback.`] } });
        const d = model.queue(liveApp, { force: false, rollback: true, tag });
        return reply(200, { message: 'Rollback deployment queued.', deployment_uuid: d.uuid });
      }
      case 'delete-application-by-uuid': {
        const denied = need('write');
        if (denied) return denied;
        if (!liveApp) return notFound();
        liveApp.deletedAt = new Date();
        setTimeout(() => model.apps.delete(liveApp.uuid), 1_000 / model.speed);
        return reply(200, { message: 'Application deletion request queued.' });
      }
      default:
        return reply(404, { message: 'Not found.', docs: 'https://coolify.io/docs' });
    }
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string, raw: string): Promise<void> {
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const send = (status: number, value: unknown) => {
      res.writeHead(status, JSON_TYPE);
      res.end(JSON.stringify(value));
    };
    if (req.method === 'POST' && path === '/_double/applications') {
      const app = model.addApp(body as Parameters<Model['addApp']>[0]);
      return send(201, { uuid: app.uuid });
    }
    if (req.method === 'PATCH' && path === '/_double/faults') {
      Object.assign(faults, body);
      return send(200, faults);
    }
    if (req.method === 'GET' && path === '/_double/log') return send(200, log);
    if (req.method === 'GET' && path === '/_double/violations') return send(200, violations);
    send(404, { message: `no control endpoint ${req.method} ${path}` });
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://double');
      let raw: string;
      try {
        raw = await readBody(req, options.bodyLimit ?? 1_000_000);
      } catch {
        res.writeHead(413, JSON_TYPE);
        res.end(JSON.stringify({ message: 'Payload too large.' }));
        return;
      }
      if (url.pathname.startsWith('/_double/')) return control(req, res, url.pathname, raw);
      const path = url.pathname.replace(/^\/api\/v1(?=\/)/, '');
      const query = Object.fromEntries(url.searchParams);
      const entry: LogEntry = { at: Date.now(), method: req.method ?? 'GET', path, operationId: null, status: 0, query, body: undefined };
      log.push(entry);
      const finish = (r: Reply) => {
        entry.status = r.status;
        if (r.text !== undefined) {
          res.writeHead(r.status, { 'content-type': 'text/html; charset=UTF-8', ...r.headers });
          res.end(r.text);
          return;
        }
        if (entry.operationId && r.status < 500) {
          const errors = contract.checkResponse(entry.operationId, r.status, r.body);
          if (errors.length > 0) violations.push({ operationId: entry.operationId, kind: 'response', status: r.status, errors });
        }
        res.writeHead(r.status, { ...JSON_TYPE, ...r.headers });
        res.end(JSON.stringify(r.body));
      };
      if (faults.delayMs > 0) await new Promise((r) => setTimeout(r, faults.delayMs));
      if (!url.pathname.startsWith('/api/v1/')) return finish(reply(404, { message: 'Not found.', docs: 'https://coolify.io/docs' }));
      // Faults strike before the request does anything, as a proxy or an overloaded instance would.
      const draw = random();
      if (draw < faults.errorRate / 3) {
        entry.status = -1;
        req.socket.destroy();
        return;
      }
      if (draw < faults.errorRate) return finish(reply(draw < (faults.errorRate * 2) / 3 ? 500 : 502, { message: 'Server Error' }));
      if (random() < faults.rateLimitRate) return finish(reply(429, { message: 'Too Many Attempts.' }, { 'retry-after': String(faults.retryAfterSeconds) }));

      let parsed: unknown;
      if (raw !== '') {
        if (!(req.headers['content-type'] ?? '').includes('application/json')) {
          return finish(reply(400, { message: 'Invalid request.', error: 'Content-Type must be application/json.' }));
        }
        try {
          parsed = JSON.parse(raw);
        } catch {
          return finish(reply(400, { message: 'Invalid request.', error: 'Invalid JSON.' }));
        }
      }
      entry.body = parsed;
      const apiRequest: ApiRequest = { method: req.method ?? 'GET', path, query, headers: req.headers as Record<string, string>, body: parsed };
      const operation = contract.api.matchOperation(apiRequest);
      if (!operation) return finish(reply(404, { message: 'Not found.', docs: 'https://coolify.io/docs' }));
      entry.operationId = operation.operationId ?? null;
      if (operation.operationId === 'healthcheck') return finish({ status: 200, body: undefined, text: 'OK' });
      if (req.headers.accept !== 'application/json') {
        violations.push({ operationId: operation.operationId ?? '?', kind: 'request', errors: ['no "Accept: application/json" (Coolify then answers errors as HTML or redirects)'] });
      }
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const abilities = token ? options.tokens[token] : undefined;
      if (!abilities) return finish(reply(401, { message: 'Unauthenticated.' }));
      const validation = contract.api.validateRequest(apiRequest, operation);
      const unknown = contract.unknownBodyFields(operation.operationId ?? '', parsed);
      if (!validation.valid || unknown.length > 0) {
        const errors = [...(validation.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`), ...unknown.map((k) => `${k}: This field is not allowed.`)];
        violations.push({ operationId: operation.operationId ?? '?', kind: 'request', errors });
        return finish(reply(422, { message: 'Validation failed.', errors: Object.fromEntries(errors.map((e, i) => [unknown[i] ?? `field${i}`, [e]])) }));
      }
      apiRequest.params = contract.api.router.parseRequest(apiRequest, operation).params;
      finish(handlers(operation.operationId ?? '', apiRequest, abilities));
    })().catch((err: unknown) => {
      res.writeHead(500, JSON_TYPE);
      res.end(JSON.stringify({ message: `double: ${(err as Error).message}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    model,
    faults,
    log,
    violations,
    webhooks,
    setWebhook: (u) => {
      webhookUrl = u;
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(clock);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
