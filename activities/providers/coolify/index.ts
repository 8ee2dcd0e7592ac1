/**
 * Coolify provider: deploys an application of a Coolify v4 instance through its HTTP API (./client.ts). The
 * version goes into the application's image tag (or one env var, `version_env`), then `POST /deploy` queues a
 * deployment whose uuid is the `providerRef` the workflow waits on. Coolify builds asynchronously: readiness
 * asks `GET /deployments/{uuid}`; a finished deployment is then confirmed on the application's own health
 * (when Coolify's health check is on) or the configured check. Rollback reuses Coolify's kept images.
 */
import { hostname } from 'node:os';
import type { CoolifyConfig } from '../../../config/providers/coolify';
import type { DeployStarted, HealthReport, PreflightCheck, ReleaseData, ServiceStatus } from '../../../domain/release';
import { probeHealth } from '../../health/index';
import { ProviderInputError, type Provider, type ProviderContext, type ProviderDeps } from '../contract';
import { createCoolifyClient, type CoolifyApplication, type CoolifyClient, type CoolifyDeployment } from '../../coolify/client';
import { buildLog, redact } from '../../coolify/logs';

type Ctx = ProviderContext<CoolifyConfig>;

const PENDING = new Set(['queued', 'in_progress']);
/** An application uuid no Coolify has (24 lowercase letters and digits, as Coolify's are). */
const ABILITY_PROBE_UUID = 'fraisierabilitycheck0000';

/** Runs a call on ABILITY_PROBE_UUID: "not found" means the token has the ability; a 403 is thrown as it is. */
async function abilityProbe(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    if (err instanceof ProviderInputError && /lacks the/.test(err.message)) throw err;
    if (err instanceof ProviderInputError && /not found|no resources/i.test(err.message)) return 'the token has it';
    throw err;
  }
  return 'the token has it';
}

/** How often stop/remove look at the application while they wait for it to take effect. */
const SETTLE_POLL_MS = 1_000;

export function createCoolifyProvider(deps: ProviderDeps): Provider<CoolifyConfig> {
  function clientFor(ctx: Ctx): CoolifyClient {
    const baseUrl = ctx.config.coolify_url ?? deps.env.COOLIFY_API_URL;
    if (!baseUrl) throw new ProviderInputError(`no Coolify URL for ${ctx.target.fraise}/${ctx.target.environment}: set coolify_url in fraises.yaml, or COOLIFY_API_URL on the worker (${hostname()})`);
    const token = deps.env[ctx.config.token_env];
    if (!token) throw new ProviderInputError(`the worker (${hostname()}) has no ${ctx.config.token_env}: set it to a Coolify API token (token_env names the variable)`);
    return createCoolifyClient({ baseUrl, token, http: deps.http, signal: ctx.signal });
  }

  /** The application's uuid: configured, remembered for the target, or looked up by names once and remembered. */
  async function applicationUuid(ctx: Ctx, api: CoolifyClient): Promise<string> {
    if (ctx.config.application_uuid) return ctx.config.application_uuid;
    const remembered = (await ctx.state.load())?.application_uuid;
    if (typeof remembered === 'string') return remembered;
    const { project, environment, application } = ctx.config;
    const projects = await api.listProjects();
    const p = projects.find((x) => x.name === project || x.uuid === project);
    if (!p?.uuid) throw new ProviderInputError(`Coolify has no project "${project}" (projects: ${projects.map((x) => x.name).join(', ') || 'none'}); fix config.project`);
    const env = await api.getEnvironment(p.uuid, environment ?? 'production');
    const app = (env.applications ?? []).find((a) => a.name === application || a.uuid === application);
    if (!app?.uuid) {
      throw new ProviderInputError(
        `project "${project}", environment "${environment}" has no application "${application}" (applications: ${(env.applications ?? []).map((a) => a.name).join(', ') || 'none'}); fix config.application`,
      );
    }
    await ctx.state.save({ application_uuid: app.uuid });
    ctx.log(`bound to Coolify application ${app.uuid} (${project}/${environment}/${application})`);
    return app.uuid;
  }

  /** Writes the version where the config says: the image tag, or one env var (upserted: Coolify's bulk update is not transactional). */
  async function applyVersion(ctx: Ctx, api: CoolifyClient, uuid: string, version: string): Promise<void> {
    const key = ctx.config.version_env;
    if (!key) {
      await api.updateApplication(uuid, { docker_registry_image_tag: version });
      ctx.log(`set the image tag of ${uuid} to ${version}`);
      return;
    }
    const existing = (await api.listEnvs(uuid)).find((e) => e.key === key && !e.is_preview);
    if (existing?.value === version) return;
    if (existing) await api.updateEnv(uuid, { key, value: version });
    else await api.createEnv(uuid, { key, value: version, is_preview: false });
    ctx.log(`set ${key}=${version} on ${uuid}`);
  }

  /**
   * Queues a deployment and returns its uuid. Coolify answers a deploy of what is already queued with a uuid it
   * never stored (COOLIFY-NOTES.md, Deployments, "Dedupe"): then the queued or running one is the deployment.
   */
  async function queueDeployment(ctx: Ctx, api: CoolifyClient, uuid: string): Promise<string> {
    const answers = await api.deploy(uuid, ctx.config.force);
    const mine = answers.find((a) => a.resource_uuid === uuid) ?? answers[0];
    const answered = mine?.deployment_uuid;
    if (answered && !/already queued/i.test(mine?.message ?? '')) return answered;
    const pending = (await api.listApplicationDeployments(uuid, 10)).find((d) => PENDING.has(d.status ?? ''));
    if (!pending?.deployment_uuid) throw new Error(`Coolify answered "${mine?.message ?? 'nothing'}" for ${uuid} but lists no queued or running deployment of it`);
    ctx.log(`Coolify already had deployment ${pending.deployment_uuid} queued for this version: following it`);
    return pending.deployment_uuid;
  }

  function started(version: string, deploymentUuid: string, app: CoolifyApplication | undefined, uuid: string, ctx: Ctx): DeployStarted {
    const via = ctx.config.version_env ? `env:${ctx.config.version_env}` : 'image_tag';
    return {
      version,
      providerRef: deploymentUuid,
      release: { version, artifact: { application: uuid, tag: version, via } },
      ...(app?.fqdn ? { url: app.fqdn } : {}),
    };
  }

  /** Env values fraisier set or Coolify keeps for the application: never shown in a log fraisier stores or prints. */
  async function secretsOf(api: CoolifyClient, uuid: string): Promise<string[]> {
    const envs = await api.listEnvs(uuid).catch(() => []);
    return envs.flatMap((e) => [e.value, e.real_value]).filter((v): v is string => typeof v === 'string' && v.length >= 3);
  }

  async function waitFor(ctx: Ctx, what: string, done: () => Promise<boolean>): Promise<void> {
    for (let look = 1; !(await done()); look++) {
      if (Date.now() + SETTLE_POLL_MS > ctx.deadline) throw new Error(`${what}: not done before the step's bound`);
      ctx.log(`${what}: waiting (look ${look})`);
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
  }

  /** How far a deploy attempt got (its checkpoint). */
  interface DeployCheckpoint {
    uuid: string;
    version: string;
    applied?: boolean;
    deployment?: string;
  }

  /** The pre-flight checks a previous attempt passed, from its checkpoint. */
  function passedChecks(resumed: unknown): Array<[string, string]> {
    const list = (resumed as { passed?: unknown } | undefined)?.passed;
    if (!Array.isArray(list)) return [];
    return list.filter((e): e is [string, string] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string');
  }

  const provider: Provider<CoolifyConfig> = {
    name: 'coolify',

    async preflight(ctx) {
      const checks: PreflightCheck[] = [];
      let api: CoolifyClient;
      try {
        api = clientFor(ctx);
      } catch (err) {
        return { ok: false, checks: [{ name: 'config', ok: false, detail: (err as Error).message }] };
      }
      // A definitive answer (refused token, missing ability, unknown application) is a failed check; a passing
      // fault (5xx, reset, 429) is thrown, so that Temporal retries the pre-flight instead of failing the deploy.
      // Checks passed by an earlier attempt (one cut short by a fault) are not asked again.
      const passed = new Map<string, string>(passedChecks(ctx.resumed));
      const check = async (name: string, body: () => Promise<string>): Promise<boolean> => {
        try {
          const detail = passed.get(name) ?? (await body());
          checks.push({ name, ok: true, detail });
          passed.set(name, detail);
          ctx.checkpoint({ passed: [...passed] });
          return true;
        } catch (err) {
          if (!(err instanceof ProviderInputError)) throw err;
          checks.push({ name, ok: false, detail: err.message });
          return false;
        }
      };
      await check('health', async () => `the instance answers: ${await api.health()}`);
      if (await check('token', async () => `Coolify ${await api.version()}, the token reads`)) {
        await check('application', async () => {
          const uuid = await applicationUuid(ctx, api);
          const app = await api.getApplication(uuid);
          return `${app.name ?? uuid} (${uuid}) is ${app.status ?? 'unknown'}`;
        });
        // Abilities, asked without changing anything: the same calls on an application that does not exist are
        // refused (403) without the ability, and answered "not found" (404) with it.
        await check('ability:write', () => abilityProbe(() => api.updateApplication(ABILITY_PROBE_UUID, { docker_registry_image_tag: 'probe' })));
        await check('ability:deploy', () => abilityProbe(() => api.deploy(ABILITY_PROBE_UUID, false)));
      }
      return { ok: checks.every((c) => c.ok), checks };
    },

    async deploy(ctx, version) {
      const api = clientFor(ctx);
      const uuid = await applicationUuid(ctx, api);
      // A retry after a fault resumes: the version already applied is not applied again, a deployment already
      // queued is followed rather than queued again.
      const resumed = ctx.resumed as DeployCheckpoint | undefined;
      const done = resumed?.uuid === uuid && resumed.version === version ? resumed : { uuid, version };
      if (!done.applied) {
        await applyVersion(ctx, api, uuid, version);
        ctx.checkpoint({ ...done, applied: true } satisfies DeployCheckpoint);
      }
      const deployment = done.deployment ?? (await queueDeployment(ctx, api, uuid));
      ctx.checkpoint({ uuid, version, applied: true, deployment } satisfies DeployCheckpoint);
      ctx.log(`Coolify deployment ${deployment} ${done.deployment ? 'queued by an earlier attempt' : 'queued'}`);
      return started(version, deployment, await api.getApplication(uuid).catch(() => undefined), uuid, ctx);
    },

    async readiness(ctx, s) {
      const api = clientFor(ctx);
      if (!s.providerRef) return { state: 'failed', detail: 'no Coolify deployment to follow' };
      const d: CoolifyDeployment = await api.getDeployment(s.providerRef);
      const status = d.status ?? 'unknown';
      if (PENDING.has(status)) return { state: 'pending', detail: `Coolify deployment ${s.providerRef} is ${status}` };
      if (status !== 'finished') {
        // Coolify leaves the build log out for a token without read:sensitive (no error): say what to grant.
        const log = d.logs
          ? `; last build lines:\n${redact(buildLog(d.logs, 20), await secretsOf(api, s.release.artifact.application ?? ''))}`
          : '; no build log: the API token lacks the "read:sensitive" ability, grant it to see why builds fail';
        return { state: 'failed', detail: `Coolify deployment ${s.providerRef} ended ${status}${log}` };
      }
      const app = await api.getApplication(s.release.artifact.application ?? '');
      if (app.health_check_enabled) {
        if (app.status === 'running:healthy') return { state: 'ready', detail: `deployment finished; ${app.status}`, ...(app.fqdn ? { url: app.fqdn } : {}) };
        if (app.status?.endsWith(':unhealthy') && !app.status.startsWith('starting')) return { state: 'failed', detail: `deployment finished but the application is ${app.status}` };
        return { state: 'pending', detail: `deployment finished; the application is ${app.status ?? 'unknown'}` };
      }
      return { state: 'ready', detail: `deployment ${s.providerRef} finished (${app.status ?? 'status unknown'}; Coolify's health check is off)`, ...(app.fqdn ? { url: app.fqdn } : {}) };
    },

    async health(ctx): Promise<HealthReport> {
      const api = clientFor(ctx);
      const app = await api.getApplication(await applicationUuid(ctx, api));
      const status = app.status ?? 'unknown';
      if (app.health_check_enabled) return { ok: status === 'running:healthy', source: 'provider', detail: `Coolify says ${status}` };
      if (!status.startsWith('running')) return { ok: false, source: 'provider', detail: `Coolify says ${status}` };
      if (ctx.target.healthCheck) return probeHealth(ctx.target.healthCheck, { signal: ctx.signal });
      return { ok: true, source: 'none', detail: `Coolify says ${status}; no health check configured` };
    },

    async status(ctx): Promise<ServiceStatus> {
      const api = clientFor(ctx);
      const uuid = await applicationUuid(ctx, api);
      const app = await api.getApplication(uuid);
      const status = app.status ?? 'unknown';
      const [state] = status.split(':');
      const version = ctx.config.version_env
        ? (await api.listEnvs(uuid)).find((e) => e.key === ctx.config.version_env && !e.is_preview)?.value
        : (app.docker_registry_image_tag ?? undefined);
      const base = { detail: `Coolify says ${status}`, ...(version ? { version } : {}) };
      if (state === 'running') return { state: status.endsWith(':unhealthy') ? 'unhealthy' : 'running', ...base, ...(app.fqdn ? { url: app.fqdn } : {}) };
      if (state === 'starting' || state === 'restarting') return { state: 'starting', ...base };
      if (state === 'exited') return { state: 'stopped', ...base };
      return { state: 'unknown', ...base };
    },

    async logs(ctx, tail) {
      const api = clientFor(ctx);
      const uuid = await applicationUuid(ctx, api);
      try {
        return redact(await api.logs(uuid, Math.min(10_000, Math.max(1, tail))), await secretsOf(api, uuid));
      } catch (err) {
        if (err instanceof ProviderInputError && /not running/i.test(err.message)) return '(the application is not running: no runtime logs)';
        throw err;
      }
    },

    async rollback(ctx, release: ReleaseData) {
      const api = clientFor(ctx);
      const uuid = await applicationUuid(ctx, api);
      const images = await api.rollbackImages(uuid);
      if ((images.images ?? []).some((i) => i.tag === release.version)) {
        const deployment = await api.rollback(uuid, release.version);
        if (!deployment) throw new Error(`Coolify queued no rollback deployment for ${uuid} to ${release.version}`);
        // The version setting follows, so that a later plain deploy does not bring the old one back.
        await applyVersion(ctx, api, uuid, release.version);
        ctx.log(`Coolify rollback of ${uuid} to its kept image ${release.version}: deployment ${deployment}`);
        return started(release.version, deployment, await api.getApplication(uuid).catch(() => undefined), uuid, ctx);
      }
      ctx.log(`Coolify no longer keeps an image of ${release.version}: deploying ${release.version} again`);
      await applyVersion(ctx, api, uuid, release.version);
      return started(release.version, await queueDeployment(ctx, api, uuid), await api.getApplication(uuid).catch(() => undefined), uuid, ctx);
    },

    async cancel(ctx, s) {
      const api = clientFor(ctx);
      const uuid = await applicationUuid(ctx, api);
      const refs = s?.providerRef ? [s.providerRef] : (await api.listApplicationDeployments(uuid, 10)).filter((d) => PENDING.has(d.status ?? '')).map((d) => d.deployment_uuid ?? '');
      const cancelled: string[] = [];
      for (const ref of refs.filter(Boolean)) {
        try {
          await api.cancelDeployment(ref);
          cancelled.push(ref);
        } catch (err) {
          if (!(err instanceof ProviderInputError)) throw err; // already ended: nothing to cancel
        }
      }
      return cancelled.length > 0
        ? { cancelled: true, detail: `cancelled Coolify deployment ${cancelled.join(', ')}` }
        : { cancelled: false, detail: 'no Coolify deployment of it was still queued or running' };
    },

    async prune() {
      return { removed: [], kept: [], detail: 'Coolify keeps and prunes its own images (the application\'s docker_images_to_keep)' };
    },

    async stop(ctx) {
      const api = clientFor(ctx);
      const uuid = await applicationUuid(ctx, api);
      await api.stop(uuid);
      await waitFor(ctx, `stopping ${uuid}`, async () => !(((await api.getApplication(uuid)).status ?? '').startsWith('running')));
    },

    async start(ctx, current) {
      const api = clientFor(ctx);
      const uuid = await applicationUuid(ctx, api);
      const app = await api.getApplication(uuid);
      const version = current?.version ?? app.docker_registry_image_tag ?? 'unknown';
      // A start retried after a lost answer follows the deployment the first one queued, instead of queueing another.
      const pending = (await api.listApplicationDeployments(uuid, 10)).find((d) => PENDING.has(d.status ?? ''));
      const deployment = pending?.deployment_uuid ?? (await api.start(uuid));
      if (!deployment) throw new Error(`Coolify queued no deployment to start ${uuid}`);
      ctx.log(`Coolify start of ${uuid}: deployment ${deployment}${pending ? ' (already queued)' : ''}`);
      return started(version, deployment, app, uuid, ctx);
    },

    async remove(ctx) {
      const api = clientFor(ctx);
      const uuid = await applicationUuid(ctx, api);
      try {
        await api.deleteApplication(uuid);
      } catch (err) {
        if (err instanceof ProviderInputError && /not found/i.test(err.message)) return; // already gone
        throw err;
      }
      await waitFor(ctx, `deleting ${uuid}`, async () =>
        api.getApplication(uuid).then(
          () => false,
          (err: unknown) => err instanceof ProviderInputError && /not found/i.test((err as Error).message),
        ),
      );
      ctx.log(`deleted the Coolify application ${uuid}`);
    },
  };
  return provider;
}
