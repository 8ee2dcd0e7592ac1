/**
 * Coolify's HTTP API, as fraisier uses it (the Coolify provider and the Coolify backend of projects, neither of
 * which imports the other): undici through the worker's pooled Agent, base URL + bearer token,
 * always `Accept: application/json`, JSON bodies only, request and body timeouts, cancelled with the activity.
 * Types come from Coolify's OpenAPI file (api.generated.ts, `npm run coolify-types`).
 *
 * Errors are classified here, once: 401/403/404/409/422 are input errors (ProviderInputError: retrying will not
 * fix them) carrying Coolify's own message and field errors; 429 is retried by Temporal after Retry-After
 * (ApplicationFailure.nextRetryDelay); 5xx, resets and timeouts are plain errors that Temporal's retry policy
 * retries. There is no retry loop here.
 */
import { ApplicationFailure } from '@temporalio/common';
import { errors as undiciErrors, request, type Dispatcher } from 'undici';
import { ProviderInputError } from '../providers/contract';
import type { components, operations } from './api.generated';

export type CoolifyApplication = components['schemas']['Application'];
export type CoolifyDeployment = components['schemas']['ApplicationDeploymentQueue'];
export type CoolifyEnv = components['schemas']['EnvironmentVariable'];
type Json<O extends keyof operations, S extends number> = operations[O]['responses'] extends Record<S, { content: { 'application/json': infer T } }> ? T : never;
type Body<O extends keyof operations> = operations[O] extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;

export interface CoolifyClientOptions {
  /** Base URL of the instance, e.g. https://coolify.example.com (the /api/v1 prefix is added). */
  baseUrl: string;
  token: string;
  http: Dispatcher;
  signal?: AbortSignal;
  /** Bound on one request, headers and body each. */
  timeoutMs?: number;
}

/** The abilities a Coolify token can have, and what fraisier needs each for. */
export const ABILITY_HINTS: Readonly<Record<string, string>> = {
  deploy: 'deploy, restart, stop and cancel applications',
  'read:sensitive': 'read build logs (fraisier attaches them to failed deploys)',
  write: 'set the version (image tag or env var) of an application',
  read: 'read applications and deployments',
};

/** A refusal retrying will not fix (401/403/404/409/422/400/405), with Coolify's status to tell them apart. */
export class CoolifyInputError extends ProviderInputError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A failed call, classified. */
export class CoolifyHttpError extends Error {
  override readonly name = 'CoolifyHttpError';
  constructor(
    message: string,
    readonly status: number,
    readonly fieldErrors: Record<string, string[]> = {},
  ) {
    super(message);
  }
}

/**
 * `errors` values may be plain strings instead of arrays (COOLIFY-NOTES.md, Transport: "some `errors` values are
 * plain strings, not arrays: accept both").
 */
export function fieldErrorsOf(body: unknown): Record<string, string[]> {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (typeof errors !== 'object' || errors === null) return {};
  return Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : [String(v)]]));
}

/** The error a failed answer becomes (see the module comment), with what to do. */
export function classify(method: string, path: string, status: number, body: unknown, retryAfter: string | undefined): Error {
  const message = typeof (body as { message?: unknown } | null)?.message === 'string' ? (body as { message: string }).message : `HTTP ${status}`;
  const where = `Coolify ${method} ${path}`;
  if (status === 429) {
    const seconds = Number(retryAfter);
    const delayMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : 60_000;
    return ApplicationFailure.create({ message: `${where}: ${message} (rate limited; retried after ${delayMs / 1000}s)`, type: 'CoolifyRateLimited', nextRetryDelay: delayMs });
  }
  if (status === 401) return new CoolifyInputError(`${where}: ${message}: the API token was refused; check the token (and that the instance's API is enabled)`, status);
  if (status === 403) {
    const ability = /Missing required permissions: ([\w:]+)/.exec(message)?.[1];
    if (ability) {
      return new CoolifyInputError(`${where}: the API token lacks the "${ability}" ability, which fraisier needs to ${ABILITY_HINTS[ability] ?? 'do this'}: create a token with it in Coolify (Keys & Tokens)`, status);
    }
    return new CoolifyInputError(`${where}: ${message}`, status);
  }
  if (status === 422) {
    const fields = fieldErrorsOf(body);
    const detail = Object.entries(fields).map(([k, v]) => `${k}: ${v.join(' ')}`).join('; ');
    return new CoolifyInputError(`${where}: ${message}${detail ? ` (${detail})` : ''}`, status);
  }
  if (status === 404 || status === 409 || status === 400 || status === 405) return new CoolifyInputError(`${where}: ${message}`, status);
  return new CoolifyHttpError(`${where}: ${message} (HTTP ${status}; retried)`, status);
}

export type CoolifyProject = components['schemas']['Project'];
/**
 * A service (a compose stack) as Coolify sends it: the file leaves out its `status`, which Coolify sends as
 * `state:health` like an application's (COOLIFY-NOTES.md, Applications: "status is always state:health").
 */
export type CoolifyService = components['schemas']['Service'] & { status?: string };
/**
 * An environment as Coolify sends it: with its uuid, applications and services (COOLIFY-NOTES.md, Projects and
 * environments: "One environment: GET /projects/{uuid}/{environment_name_or_uuid} ... with its applications and services").
 */
export type CoolifyEnvironment = components['schemas']['Environment'] & { uuid?: string; applications?: CoolifyApplication[]; services?: CoolifyService[] };
export type CoolifyServiceCreate = Body<'create-service'>;
/** One item of `PATCH /services/{uuid}/envs/bulk`. */
export type CoolifyEnvItem = Body<'update-envs-by-service-uuid'>['data'][number];

export interface CoolifyClient {
  health(): Promise<string>;
  listProjects(): Promise<CoolifyProject[]>;
  getEnvironment(projectUuid: string, environment: string): Promise<CoolifyEnvironment>;
  version(): Promise<string>;
  getApplication(uuid: string): Promise<CoolifyApplication>;
  updateApplication(uuid: string, body: Body<'update-application-by-uuid'>): Promise<void>;
  listEnvs(uuid: string): Promise<CoolifyEnv[]>;
  createEnv(uuid: string, body: Body<'create-env-by-application-uuid'>): Promise<void>;
  updateEnv(uuid: string, body: Body<'update-env-by-application-uuid'>): Promise<void>;
  deploy(uuid: string, force: boolean): Promise<Array<{ message?: string; resource_uuid?: string; deployment_uuid?: string }>>;
  getDeployment(uuid: string): Promise<CoolifyDeployment>;
  listDeployments(): Promise<CoolifyDeployment[]>;
  listApplicationDeployments(uuid: string, take: number): Promise<CoolifyDeployment[]>;
  cancelDeployment(uuid: string): Promise<void>;
  start(uuid: string): Promise<string | undefined>;
  stop(uuid: string): Promise<void>;
  logs(uuid: string, lines: number): Promise<string>;
  rollbackImages(uuid: string): Promise<Json<'list-application-rollback-images', 200>>;
  rollback(uuid: string, tag: string): Promise<string | undefined>;
  deleteApplication(uuid: string): Promise<void>;
  createProject(name: string, description: string): Promise<string>;
  /** The new environment's uuid; a CoolifyInputError with status 409 when the name exists. */
  createEnvironment(projectUuid: string, name: string): Promise<string>;
  deleteEnvironment(projectUuid: string, environment: string): Promise<void>;
  /** The new service's uuid (Coolify creates; it does not deduplicate: look it up by name first). */
  createService(body: CoolifyServiceCreate): Promise<string>;
  getService(uuid: string): Promise<CoolifyService>;
  /** Replaces the service's compose file (base64, as Coolify takes it). */
  updateServiceCompose(uuid: string, composeBase64: string): Promise<void>;
  startService(uuid: string): Promise<void>;
  stopService(uuid: string): Promise<void>;
  restartService(uuid: string): Promise<void>;
  /** Queues the deletion (asynchronous: a GET may still find it for a while); its volumes too with `volumes`. */
  deleteService(uuid: string, options: { volumes: boolean }): Promise<void>;
  listServiceEnvs(uuid: string): Promise<CoolifyEnv[]>;
  /** Creates or updates each by key; not transactional (COOLIFY-NOTES.md): a retry sends the whole list again. */
  upsertServiceEnvs(uuid: string, items: CoolifyEnvItem[]): Promise<void>;
}

export function createCoolifyClient(o: CoolifyClientOptions): CoolifyClient {
  const base = `${o.baseUrl.replace(/\/+$/, '')}/api/v1`;
  const timeout = o.timeoutMs ?? 30_000;

  async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${base}${path}`, {
        method,
        dispatcher: o.http,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${o.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (err) {
      if (o.signal?.aborted) throw err;
      const what = err instanceof undiciErrors.UndiciError ? err.message : (err as Error).message;
      throw new CoolifyHttpError(`Coolify ${method} ${path}: ${what} (retried)`, 0);
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.statusCode >= 400) {
      const retryAfter = res.headers['retry-after'];
      throw classify(method, path, res.statusCode, json, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    }
    return { status: res.statusCode, json, text };
  }
  const get = async <T>(path: string): Promise<T> => (await call('GET', path)).json as T;
  /** The `uuid` of a 201 answer; an answer without one is Coolify misbehaving (retried, like a 5xx). */
  const uuidOf = (r: { json: unknown }, what: string): string => {
    const uuid = (r.json as { uuid?: unknown } | undefined)?.uuid;
    if (typeof uuid !== 'string' || uuid === '') throw new CoolifyHttpError(`Coolify ${what}: the answer has no uuid`, 0);
    return uuid;
  };
  const enc = encodeURIComponent;

  return {
    health: async () => (await call('GET', '/health')).text.trim(),
    version: async () => (await call('GET', '/version')).text.trim(),
    listProjects: () => get('/projects'),
    getEnvironment: (projectUuid, environment) => get(`/projects/${enc(projectUuid)}/${enc(environment)}`),
    getApplication: (uuid) => get(`/applications/${enc(uuid)}`),
    updateApplication: async (uuid, body) => void (await call('PATCH', `/applications/${enc(uuid)}`, body)),
    listEnvs: (uuid) => get(`/applications/${enc(uuid)}/envs`),
    createEnv: async (uuid, body) => void (await call('POST', `/applications/${enc(uuid)}/envs`, body)),
    updateEnv: async (uuid, body) => void (await call('PATCH', `/applications/${enc(uuid)}/envs`, body)),
    async deploy(uuid, force) {
      const r = (await call('POST', `/deploy?uuid=${enc(uuid)}&force=${force}`)).json as Json<'deploy-by-tag-or-uuid', 200>;
      return r.deployments ?? [];
    },
    getDeployment: (uuid) => get(`/deployments/${enc(uuid)}`),
    async listDeployments() {
      // May come back as an object keyed by index (COOLIFY-NOTES.md, Deployments: "GET /deployments ... accept both").
      const r = await get<CoolifyDeployment[] | Record<string, CoolifyDeployment>>('/deployments');
      return Array.isArray(r) ? r : Object.values(r ?? {});
    },
    async listApplicationDeployments(uuid, take) {
      // An object, not the array the file says (COOLIFY-NOTES.md, Deployments: "{count, deployments} newest first").
      const r = await get<{ deployments?: CoolifyDeployment[] } | CoolifyDeployment[]>(`/deployments/applications/${enc(uuid)}?skip=0&take=${take}`);
      return Array.isArray(r) ? r : (r.deployments ?? []);
    },
    cancelDeployment: async (uuid) => void (await call('POST', `/deployments/${enc(uuid)}/cancel`)),
    start: async (uuid) => ((await call('POST', `/applications/${enc(uuid)}/start`)).json as { deployment_uuid?: string }).deployment_uuid,
    stop: async (uuid) => void (await call('POST', `/applications/${enc(uuid)}/stop`)),
    logs: async (uuid, lines) => ((await get<{ logs?: string }>(`/applications/${enc(uuid)}/logs?lines=${lines}`)).logs ?? ''),
    rollbackImages: (uuid) => get(`/applications/${enc(uuid)}/rollback-images`),
    rollback: async (uuid, tag) => ((await call('POST', `/applications/${enc(uuid)}/rollback`, { commit: tag })).json as { deployment_uuid?: string }).deployment_uuid,
    deleteApplication: async (uuid) => void (await call('DELETE', `/applications/${enc(uuid)}?delete_volumes=false`)),
    createProject: async (name, description) => uuidOf(await call('POST', '/projects', { name, description } satisfies Body<'create-project'>), 'POST /projects'),
    createEnvironment: async (projectUuid, name) =>
      uuidOf(await call('POST', `/projects/${enc(projectUuid)}/environments`, { name } satisfies Body<'create-environment'>), `POST /projects/${projectUuid}/environments`),
    deleteEnvironment: async (projectUuid, environment) => void (await call('DELETE', `/projects/${enc(projectUuid)}/environments/${enc(environment)}`)),
    createService: async (body) => uuidOf(await call('POST', '/services', body), 'POST /services'),
    getService: (uuid) => get(`/services/${enc(uuid)}`),
    updateServiceCompose: async (uuid, composeBase64) =>
      void (await call('PATCH', `/services/${enc(uuid)}`, { docker_compose_raw: composeBase64 } satisfies Body<'update-service-by-uuid'>)),
    startService: async (uuid) => void (await call('POST', `/services/${enc(uuid)}/start`)),
    stopService: async (uuid) => void (await call('POST', `/services/${enc(uuid)}/stop`)),
    restartService: async (uuid) => void (await call('POST', `/services/${enc(uuid)}/restart`)),
    deleteService: async (uuid, options) =>
      void (await call('DELETE', `/services/${enc(uuid)}?delete_configurations=true&delete_volumes=${options.volumes}&docker_cleanup=true&delete_connected_networks=true`)),
    listServiceEnvs: (uuid) => get(`/services/${enc(uuid)}/envs`),
    upsertServiceEnvs: async (uuid, items) => void (await call('PATCH', `/services/${enc(uuid)}/envs/bulk`, { data: items } satisfies Body<'update-envs-by-service-uuid'>)),
  };
}
