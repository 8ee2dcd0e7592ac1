/**
 * The Coolify backend of projects: a project's stack is a Coolify service (a compose stack, `POST /services` with
 * the rendered compose file base64-encoded), named `fraisier-project-<id>`, alone in an environment of the same
 * name, inside ONE Coolify project shared by every tenant (projects.coolify.project, default fraisier-projects).
 *
 * Why one project with an environment per tenant, and not a project per tenant: Coolify refuses a second
 * environment of a name (409), so creating one is idempotent, while it accepts two projects of one name, so a
 * project per tenant would be a non-idempotent create on every provision. The shared project is created once
 * (looked up by name first; if two ever exist, the oldest is taken by every worker alike), and each tenant's
 * environment keeps its service apart in Coolify's UI and lets a purge remove the environment with it.
 *
 * Every create is preceded by a look-up by name, so a retried `up` (a lost answer, a worker gone) finds what the
 * first attempt made instead of making a second. The secrets (and PROJECT_ID, the ports) go as the service's env
 * vars, only those missing or different, never into a log line; the compose file keeps `${NAME}` for them.
 *
 * `down` without volumes stops the service and keeps it: Coolify names a service's volumes after its uuid, so a
 * service deleted and made again would come back with empty volumes; `restore` (up) finds it and starts it again
 * with its data. `down` with volumes deletes it (delete_volumes=true) and then its environment.
 *
 * Coolify acts asynchronously (its start, stop and delete answer "queued"): start, stop and down wait, polling
 * `GET /services/{uuid}`, until Coolify has done it, bounded by the activity's deadline. A poll that fails for a
 * passing reason (5xx, reset, 429) is one look without an answer; every other call's failure goes to Temporal,
 * which retries the activity (no retry loop here).
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { CoolifyInputError, createCoolifyClient, type CoolifyClient, type CoolifyEnvironment, type CoolifyService } from '../../../coolify/client';
import type { ProjectRef, StackState } from '../../../../domain/projectOperations';
import { validateProjectId, type CoolifyProjectsSettings } from '../../../../domain/projects';
import { ProjectInputError, type ProjectStackBackend, type StackContext, type StackSpec } from '../contract';

export const COOLIFY_URL_ENV = 'COOLIFY_API_URL';
export const COOLIFY_TOKEN_ENV = 'COOLIFY_API_TOKEN';
/** Left of the activity's time when a wait gives up, to report why. */
const DEADLINE_MARGIN_MS = 2_000;

/** The name of a project's service, and of its environment. */
export function stackName(id: string): string {
  return `fraisier-project-${validateProjectId(id)}`;
}

const isStatus = (err: unknown, status: number): boolean => err instanceof CoolifyInputError && err.status === status;

/** Coolify's refusals (bad token, unknown server, invalid compose file…) are input errors of projects: not retried. */
async function guarded<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CoolifyInputError) throw new ProjectInputError(err.message);
    throw err;
  }
}

/** `state:health` (COOLIFY-NOTES.md, Applications) as a stack state. */
export function stackStateOf(status: string | undefined): StackState {
  const [state] = (status ?? '').split(':');
  if (state === 'running') return 'running';
  if (state === 'exited') return 'stopped';
  return 'partial'; // starting, restarting, degraded: some of it runs, or is about to
}

export function createCoolifyProjectBackend(o: { http: Dispatcher; env: NodeJS.ProcessEnv; pollMs?: number }): ProjectStackBackend {
  const pollMs = o.pollMs ?? 1_000;

  function clientFor(ctx: StackContext): CoolifyClient {
    const baseUrl = o.env[COOLIFY_URL_ENV]?.trim();
    const token = o.env[COOLIFY_TOKEN_ENV]?.trim();
    const missing = [baseUrl ? '' : COOLIFY_URL_ENV, token ? '' : COOLIFY_TOKEN_ENV].filter(Boolean);
    if (!baseUrl || !token) {
      throw new ProjectInputError(`the worker (${hostname()}) has no ${missing.join(' nor ')}: set them in its environment to run projects on Coolify`);
    }
    return createCoolifyClient({ baseUrl, token, http: o.http, signal: ctx.signal });
  }

  function settingsOf(ctx: StackContext): CoolifyProjectsSettings {
    const coolify = ctx.settings?.coolify;
    if (!coolify) throw new ProjectInputError('projects.coolify is missing from the settings this operation was started with: add coolify: { server_uuid: … } under projects in fraises.yaml');
    return coolify;
  }

  /** The shared Coolify project's uuid (by uuid, else the oldest of the name), created when `create` and absent. */
  async function projectUuid(ctx: StackContext, api: CoolifyClient, name: string, create: boolean): Promise<string | null> {
    const find = async () => {
      const all = await api.listProjects();
      const byUuid = all.find((p) => p.uuid === name);
      const named = all.filter((p) => p.name === name).sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
      return byUuid?.uuid ?? named[0]?.uuid ?? null;
    };
    const found = await find();
    if (found || !create) return found;
    await api.createProject(name, 'fraisier projects (tenants): one environment per project');
    ctx.log(`created the Coolify project ${name}`);
    // Looked up again: had another worker created one at the same moment, every worker takes the same (oldest).
    return find();
  }

  const environmentOf = (api: CoolifyClient, project: string, name: string): Promise<CoolifyEnvironment | null> =>
    api.getEnvironment(project, name).catch((err: unknown) => {
      if (isStatus(err, 404)) return null;
      throw err;
    });

  const serviceOf = (api: CoolifyClient, uuid: string): Promise<CoolifyService | null> =>
    api.getService(uuid).catch((err: unknown) => {
      if (isStatus(err, 404)) return null;
      throw err;
    });

  /** The service of the name in the environment: the oldest, if a lost answer ever let two be made. */
  function namedService(ctx: StackContext, env: CoolifyEnvironment, name: string): CoolifyService | undefined {
    const named = (env.services ?? []).filter((s) => s.name === name).sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
    if (named.length > 1) ctx.log(`Coolify has ${named.length} services named ${name}: using the oldest, ${named[0]?.uuid}; delete the others`);
    return named[0];
  }

  /** The project's service: by its recorded uuid, else by name; null when there is none. */
  async function findService(ctx: StackContext, api: CoolifyClient, project: ProjectRef, ref: string | null): Promise<CoolifyService | null> {
    if (ref) return serviceOf(api, ref);
    const shared = await projectUuid(ctx, api, settingsOf(ctx).project, false);
    const env = shared ? await environmentOf(api, shared, stackName(project.id)) : null;
    const named = env ? namedService(ctx, env, stackName(project.id)) : undefined;
    return named?.uuid ? serviceOf(api, named.uuid) : null;
  }

  /** Polls until `done`; a look failing for a passing reason is a look without an answer. Bounded by the activity. */
  async function waitFor(ctx: StackContext, what: string, done: () => Promise<boolean>): Promise<void> {
    for (let look = 1; ; look++) {
      try {
        if (await done()) return;
      } catch (err) {
        if (err instanceof CoolifyInputError || ctx.signal.aborted) throw err;
        ctx.log(`${what}: look ${look} failed (${(err as Error).message}); looking again`);
      }
      if (Date.now() + pollMs > ctx.deadline - DEADLINE_MARGIN_MS) {
        throw new Error(`${what}: Coolify had not done it before the activity's bound; it is retried, and \`fraisier project status\` shows where it is`);
      }
      if (look % 5 === 1) ctx.log(`${what}: waiting for Coolify (look ${look})`);
      await sleep(pollMs, undefined, { signal: ctx.signal });
    }
  }

  const statusOf = async (api: CoolifyClient, uuid: string) => (await serviceOf(api, uuid))?.status ?? 'missing';

  async function stop(ctx: StackContext, api: CoolifyClient, service: CoolifyService): Promise<void> {
    const uuid = service.uuid ?? '';
    if (stackStateOf(service.status) !== 'stopped') {
      await api.stopService(uuid);
      ctx.log(`Coolify stop of ${service.name ?? uuid} (${uuid}) queued`);
    }
    await waitFor(ctx, `stopping ${uuid}`, async () => {
      const status = await statusOf(api, uuid);
      return status === 'missing' || stackStateOf(status) === 'stopped';
    });
  }

  return {
    up: (ctx, spec: StackSpec) =>
      guarded(async () => {
        const api = clientFor(ctx);
        const settings = settingsOf(ctx);
        const name = stackName(spec.project.id);
        const shared = await projectUuid(ctx, api, settings.project, true);
        if (!shared) throw new Error(`the Coolify project ${settings.project} was created but is not listed yet; retried`);
        let env = await environmentOf(api, shared, name);
        if (!env) {
          await api.createEnvironment(shared, name).catch((err: unknown) => {
            if (!isStatus(err, 409)) throw err; // made by an earlier attempt whose answer was lost
          });
          env = await environmentOf(api, shared, name);
          if (!env) throw new Error(`the Coolify environment ${name} was created but is not found yet; retried`);
        }
        const composeBase64 = Buffer.from(spec.compose, 'utf8').toString('base64');
        let changed = false;
        let uuid = namedService(ctx, env, name)?.uuid;
        if (!uuid) {
          uuid = await api.createService({
            name,
            description: `fraisier project ${spec.project.id}`,
            project_uuid: shared,
            environment_name: name,
            environment_uuid: env.uuid ?? '',
            server_uuid: settings.serverUuid,
            ...(settings.destinationUuid ? { destination_uuid: settings.destinationUuid } : {}),
            docker_compose_raw: composeBase64,
            instant_deploy: false,
          });
          ctx.log(`created the Coolify service ${name} (${uuid})`);
        } else if ((await api.getService(uuid)).docker_compose_raw !== spec.compose) {
          await api.updateServiceCompose(uuid, composeBase64);
          changed = true;
          ctx.log(`updated the compose file of the Coolify service ${name} (${uuid})`);
        }
        // Only what is missing or different is sent: names are said, values never.
        const current = new Map((await api.listServiceEnvs(uuid)).filter((e) => !e.is_preview).map((e) => [e.key, e.value]));
        const outdated = Object.entries(spec.env).filter(([key, value]) => current.get(key) !== value);
        if (outdated.length > 0) {
          await api.upsertServiceEnvs(
            uuid,
            outdated.map(([key, value]) => ({ key, value, is_preview: false, is_literal: true, is_multiline: false, is_shown_once: false })),
          );
          changed = true;
          ctx.log(`set ${outdated.map(([key]) => key).join(', ')} on the Coolify service ${uuid}`);
        }
        const state = stackStateOf((await api.getService(uuid)).status);
        if (state === 'running' && changed) {
          await api.restartService(uuid);
          ctx.log(`Coolify restart of ${uuid} queued (its compose file or variables changed)`);
        } else if (state === 'stopped') {
          await api.startService(uuid);
          ctx.log(`Coolify start of ${uuid} queued`);
        }
        return { ref: uuid };
      }),

    start: (ctx, project, ref) =>
      guarded(async () => {
        const api = clientFor(ctx);
        const service = await findService(ctx, api, project, ref);
        if (!service?.uuid) throw new ProjectInputError(`project ${project.id} has no Coolify service ${stackName(project.id)} to start (it is gone)`);
        const uuid = service.uuid;
        if (stackStateOf(service.status) === 'stopped') {
          await api.startService(uuid);
          ctx.log(`Coolify start of ${uuid} queued`);
        }
        await waitFor(ctx, `starting ${uuid}`, async () => stackStateOf(await statusOf(api, uuid)) === 'running');
      }),

    stop: (ctx, project, ref) =>
      guarded(async () => {
        const api = clientFor(ctx);
        const service = await findService(ctx, api, project, ref);
        if (service) await stop(ctx, api, service);
      }),

    down: (ctx, project, ref, options) =>
      guarded(async () => {
        const api = clientFor(ctx);
        const service = await findService(ctx, api, project, ref);
        if (!options.volumes) {
          // Kept, stopped, with its volumes: see the module comment.
          if (service) await stop(ctx, api, service);
          return;
        }
        if (service?.uuid) {
          const uuid = service.uuid;
          await api.deleteService(uuid, { volumes: true }).catch((err: unknown) => {
            if (!isStatus(err, 404)) throw err; // gone already
          });
          ctx.log(`Coolify deletion of ${uuid} with its volumes queued`);
          await waitFor(ctx, `deleting ${uuid}`, async () => (await serviceOf(api, uuid)) === null);
        }
        // Its environment goes too, once empty (settings are missing only from workflows started before they were passed).
        const coolify = ctx.settings?.coolify;
        const shared = coolify ? await projectUuid(ctx, api, coolify.project, false) : null;
        if (shared) {
          await api.deleteEnvironment(shared, stackName(project.id)).catch((err: unknown) => {
            if (isStatus(err, 400)) ctx.log(`kept the Coolify environment ${stackName(project.id)}: it still holds resources fraisier did not make`);
            else if (!isStatus(err, 404)) throw err;
          });
        }
      }),

    state: (ctx, project, ref) =>
      guarded(async () => {
        const service = await findService(ctx, clientFor(ctx), project, ref);
        return service ? stackStateOf(service.status) : 'missing';
      }),
  };
}
