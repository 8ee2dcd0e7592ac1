/**
 * The activities of the project workflows (workflows/projects.ts). They alone see secrets: generated and
 * encrypted here, decrypted here to write the stack's env file or to form a URL, never returned (URLs come back
 * with their password masked).
 */
import { readFile } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import type { CommandRunner } from '../commandRunner';
import type { ProjectRecord, ProjectRecords } from '../../db/types';
import type { ProjectHealth, ProjectRef, StackState } from '../../domain/projectOperations';
import {
  maskUrlPassword,
  PROJECT_ID_VARIABLE,
  validateProjectId,
  type ProjectBackend,
  type ProjectsSettings,
  type ProjectStatus,
  type ProjectSummary,
} from '../../domain/projects';
import { activityDeadline, HEARTBEAT_EVERY_MS } from '../providerContext';
import { ProjectInputError, type ProjectStackBackend, type StackContext } from './backends/contract';
import { decryptSecrets, encryptSecrets, loadSecretsKey, type SecretsKey } from './crypto';
import { generateSecret } from './secrets';
import { projectSummary, projectVariables, renderUrl } from './summary';
import { renderTemplate } from './template';

const PROBE_TIMEOUT_MS = 5_000;

export interface ProjectActivityDeps {
  projects: ProjectRecords;
  backends: Partial<Record<ProjectBackend, ProjectStackBackend>>;
  run: CommandRunner;
  http: Dispatcher;
  env: NodeJS.ProcessEnv;
  /** Where the embedded default keeps its secrets key file (when FRAISIER_SECRETS_KEY is not set). */
  dataDir: string;
}

/** Input errors become non-retryable failures the workflows know (ProjectInputError). */
async function asActivity<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ProjectInputError || err instanceof RangeError) throw ApplicationFailure.nonRetryable(err.message, 'ProjectInputError');
    throw err;
  }
}

/** Leaves `${NAME}` of each secret for compose to fill in from the env file: the rendered compose file holds no secret. */
function keepSecretsForCompose(template: string, secretNames: readonly string[]): string {
  let text = template;
  // A function as the replacement: in a replacement string "$$" would stand for one "$".
  for (const name of secretNames) text = text.replace(new RegExp(`(?<!\\$)\\$\\{${name}\\}`, 'g'), () => `$\${${name}}`);
  return text;
}

export function createProjectActivities(deps: ProjectActivityDeps) {
  let key: Promise<SecretsKey> | undefined;
  const secretsKey = () => {
    key ??= loadSecretsKey({ env: deps.env, dataDir: deps.dataDir });
    key.catch(() => (key = undefined));
    return key;
  };

  const recorded = async (project: ProjectRef): Promise<ProjectRecord> => {
    const record = await deps.projects.getProject(project.backend, validateProjectId(project.id));
    if (!record) throw new ProjectInputError(`no project ${project.id} (${project.backend}) is recorded: provision it first`);
    return record;
  };

  const backendOf = (project: ProjectRef): ProjectStackBackend => {
    const backend = deps.backends[project.backend];
    if (!backend) throw new ProjectInputError(`the ${project.backend} backend of projects is not available on this worker`);
    return backend;
  };

  const secretsOf = async (record: ProjectRecord): Promise<Record<string, string>> =>
    decryptSecrets(await secretsKey(), { keyId: record.secretsKeyId, ciphertext: record.secretsCiphertext });

  /** PROJECT_ID, the ports and the secrets: what the template, the env file and the URLs are made of. */
  const variablesOf = async (record: ProjectRecord): Promise<{ vars: Record<string, string>; secretNames: string[] }> => {
    const secrets = await secretsOf(record);
    return { vars: projectVariables(record.id, record.ports, secrets), secretNames: Object.keys(secrets) };
  };

  /** What may be said of a project: its URLs with their password masked. */
  const summarize = async (record: ProjectRecord): Promise<ProjectSummary> => {
    const summary = projectSummary(record, await secretsOf(record));
    return { ...summary, apiUrl: summary.apiUrl === null ? null : maskUrlPassword(summary.apiUrl) };
  };

  /** A backend call inside an activity: heartbeats while it runs, cancelled with the activity, bounded by it. */
  const withStack = async <T>(
    project: ProjectRef,
    settings: ProjectsSettings | undefined,
    body: (backend: ProjectStackBackend, ctx: StackContext) => Promise<T>,
  ): Promise<T> => {
    const activity = Context.current();
    let last = '';
    const beat = setInterval(() => activity.heartbeat(last), HEARTBEAT_EVERY_MS);
    try {
      return await body(backendOf(project), {
        run: deps.run,
        signal: activity.cancellationSignal,
        deadline: activityDeadline(activity.info, Date.now()),
        settings: settings ?? null,
        log: (message) => {
          last = message;
          activity.log.info(message);
          activity.heartbeat(message);
        },
      });
    } finally {
      clearInterval(beat);
    }
  };

  return {
    /**
     * The project's record: created once with its secrets (generated and encrypted here) and its ports; a second
     * call (a retry, a second provision of the same id) finds it, its secrets and ports as they were.
     */
    async ensureProject(project: ProjectRef, settings: ProjectsSettings): Promise<{ created: boolean; summary: ProjectSummary }> {
      return asActivity(async () => {
        const id = validateProjectId(project.id);
        const existing = await deps.projects.getProject(project.backend, id);
        let created = false;
        if (!existing || existing.purged) {
          const template = await readFile(settings.template, 'utf8').catch((err: NodeJS.ErrnoException) => {
            throw new ProjectInputError(`cannot read the project template ${settings.template} on this worker: ${err.code ?? err.message}`);
          });
          const secrets = Object.fromEntries(settings.secrets.map((s) => [s.name, generateSecret(s.kind, s.length)]));
          // Every placeholder must be known before anything is created.
          const probe = Object.fromEntries([PROJECT_ID_VARIABLE, ...settings.ports, ...settings.secrets.map((s) => s.name)].map((n) => [n, '0']));
          try {
            renderTemplate(template, probe);
          } catch (err) {
            throw new ProjectInputError(`${settings.template}: ${(err as Error).message}`);
          }
          const stored = encryptSecrets(await secretsKey(), secrets);
          const fresh = {
            backend: project.backend,
            id,
            template,
            secretsCiphertext: stored.ciphertext,
            secretsKeyId: stored.keyId,
            apiUrlTemplate: settings.apiUrl,
            dbUrlTemplate: settings.dbUrl,
            createdAt: new Date(),
          };
          if (existing) {
            // Purged (its data gone): it starts again, with new secrets.
            await deps.projects.reviveProject(fresh);
            created = true;
          } else {
            created = (await deps.projects.createProjectOnce(fresh)).created;
          }
        }
        await deps.projects.allocatePorts(project.backend, id, settings.ports, settings.portRange);
        return { created, summary: await summarize(await recorded(project)) };
      });
    },

    async describeProject(project: ProjectRef): Promise<ProjectSummary> {
      return asActivity(async () => summarize(await recorded(project)));
    },

    async markProject(project: ProjectRef, status: ProjectStatus, change: { error?: string; purged?: boolean }): Promise<ProjectSummary> {
      return asActivity(async () => {
        const record =
          status === 'deleted'
            ? await deps.projects.markDeleted(project.backend, validateProjectId(project.id), { purged: change.purged === true })
            : await deps.projects.setProjectStatus(project.backend, validateProjectId(project.id), status, { error: change.error ?? null });
        return summarize(record);
      });
    },

    /** Renders the stored template with the stored ports, the secrets left to the env file, and brings the stack up. */
    async upStack(project: ProjectRef, settings: ProjectsSettings): Promise<void> {
      return asActivity(async () => {
        const record = await recorded(project);
        const { vars, secretNames } = await variablesOf(record);
        const plain = Object.fromEntries(Object.entries(vars).filter(([name]) => !secretNames.includes(name)));
        const compose = renderTemplate(keepSecretsForCompose(record.template, secretNames), plain);
        const { ref } = await withStack(project, settings, (b, ctx) => b.up(ctx, { project, compose, env: vars }));
        // The backend's own id of the stack (a Coolify service uuid): later calls go to it, a retried up finds it.
        if (ref && ref !== record.providerRef) {
          await deps.projects.setProjectStatus(project.backend, record.id, record.status, { providerRef: ref, error: record.error });
        }
      });
    },

    // settings: optional, as workflows started before they were passed call without them.
    async startStack(project: ProjectRef, settings?: ProjectsSettings): Promise<void> {
      return asActivity(async () => {
        const record = await recorded(project);
        await withStack(project, settings, (b, ctx) => b.start(ctx, project, record.providerRef));
      });
    },

    async stopStack(project: ProjectRef, settings?: ProjectsSettings): Promise<void> {
      return asActivity(async () => {
        const record = await recorded(project);
        await withStack(project, settings, (b, ctx) => b.stop(ctx, project, record.providerRef));
      });
    },

    async downStack(project: ProjectRef, options: { volumes: boolean }, settings?: ProjectsSettings): Promise<void> {
      return asActivity(async () => {
        const record = await recorded(project);
        await withStack(project, settings, (b, ctx) => b.down(ctx, project, record.providerRef, options));
      });
    },

    async stackState(project: ProjectRef, settings?: ProjectsSettings): Promise<StackState> {
      return asActivity(async () => {
        const record = await recorded(project);
        return withStack(project, settings, (b, ctx) => b.state(ctx, project, record.providerRef));
      });
    },

    /** GET of the health check's path on the project's API URL; without a health check, the stack running is enough. */
    async probeProject(project: ProjectRef, settings: ProjectsSettings): Promise<ProjectHealth> {
      return asActivity(async () => {
        const record = await recorded(project);
        const { vars } = await variablesOf(record);
        const api = record.apiUrlTemplate === null ? null : renderUrl(record.apiUrlTemplate, vars);
        const check = settings.healthCheck;
        if (!check || api === null) {
          const state = await withStack(project, settings, (b, ctx) => b.state(ctx, project, record.providerRef));
          return { ok: state === 'running', detail: `stack ${state}; no health check configured` };
        }
        const target = `${api.replace(/\/+$/, '')}${check.path}`;
        const shown = maskUrlPassword(target);
        try {
          const res = await request(target, { dispatcher: deps.http, headersTimeout: PROBE_TIMEOUT_MS, bodyTimeout: PROBE_TIMEOUT_MS });
          await res.body.dump();
          return res.statusCode === check.expectedStatus
            ? { ok: true, detail: `GET ${shown}: ${res.statusCode}` }
            : { ok: false, detail: `GET ${shown}: ${res.statusCode}, expected ${check.expectedStatus}` };
        } catch (err) {
          return { ok: false, detail: `GET ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
        }
      });
    },
  };
}

export type ProjectActivities = ReturnType<typeof createProjectActivities>;
