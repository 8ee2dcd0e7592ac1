/**
 * Coolify's HTTP API, as fraisier uses it: undici through the worker's pooled Agent, base URL + bearer token,
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
import { ProviderInputError } from '../contract';
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
  if (status === 401) return new ProviderInputError(`${where}: ${message}: the API token was refused; check the token (and that the instance's API is enabled)`);
  if (status === 403) {
    const ability = /Missing required permissions: ([\w:]+)/.exec(message)?.[1];
    if (ability) {
      return new ProviderInputError(`${where}: the API token lacks the "${ability}" ability, which fraisier needs to ${ABILITY_HINTS[ability] ?? 'do this'}: create a token with it in Coolify (Keys & Tokens)`);
    }
    return new ProviderInputError(`${where}: ${message}`);
  }
  if (status === 422) {
    const fields = fieldErrorsOf(body);
    const detail = Object.entries(fields).map(([k, v]) => `${k}: ${v.join(' ')}`).join('; ');
    return new ProviderInputError(`${where}: ${message}${detail ? ` (${detail})` : ''}`);
  }
  if (status === 404 || status === 409 || status === 400 || status === 405) return new ProviderInputError(`${where}: ${message}`);
  return new CoolifyHttpError(`${where}: ${message} (HTTP ${status}; retried)`, status);
}

export type CoolifyProject = components['schemas']['Project'];
/** An environment as Coolify sends it: with its applications (COOLIFY-NOTES.md, Projects and environments). */
export type CoolifyEnvironment = components['schemas']['Environment'] & { applications?: CoolifyApplication[] };

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
  };
}
