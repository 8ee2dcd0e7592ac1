/** `fraisier project …`: the project operations (under the project's lock) and the reads of their records. */
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../config/load';
import { dataDir } from '../../config/paths';
import { chooseBackend, resolveProjects } from '../../config/projects';
import type { ProjectRecord } from '../../db/types';
import type { ProjectOperation, ProjectOutcome } from '../../domain/projectOperations';
import { projectIdProblem, projectLockKey, type ProjectBackend, type ProjectsSettings, type ProjectSummary } from '../../domain/projects';
import { decryptSecrets, loadSecretsKey } from '../../activities/projects/crypto';
import { projectSummary } from '../../activities/projects/summary';
import type { LockCliOptions, Output } from '../cli';
import { defaultRequester, durationSeconds } from '../context';
import { CliError, EXIT } from '../exitCodes';
import { followToEnd, innermostFailure } from '../follow';
import { describeHolder } from '../lock';
import { startProjectOperation } from '../projects';
import { connectTemporal } from '../temporalClient';
import { workflowUiUrl } from '../uiLinks';
import { withRecords } from './reads';

export interface ProjectCliOptions extends Omit<LockCliOptions, 'readyTimeout'> {
  purge?: boolean;
}

/** The projects: section, resolved, and the backend it picks here; bad config or id: exit code 2 before anything starts. */
async function loadProjects(configFile: string, id?: string): Promise<{ settings: ProjectsSettings; backend: ProjectBackend; reason: string }> {
  if (id !== undefined) {
    const problem = projectIdProblem(id);
    if (problem) throw new CliError(`${problem}; a project id has lowercase letters, digits and "-"`, EXIT.badInput);
  }
  let settings: ProjectsSettings;
  try {
    settings = resolveProjects(await loadConfig(resolve(configFile)));
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.badInput);
    throw err;
  }
  const { backend, reason } = chooseBackend(settings.backend, process.env);
  if (backend === 'coolify' && settings.coolify === null) {
    throw new CliError(`${reason}, but fraises.yaml has no projects.coolify: add coolify: { server_uuid: <uuid of the Coolify server> } under projects (or set projects.backend: local)`, EXIT.badInput);
  }
  return { settings, backend, reason };
}

export async function runProjectOperation(out: Output, operation: ProjectOperation, id: string, opts: ProjectCliOptions): Promise<number> {
  const { settings, backend } = await loadProjects(opts.config, id);
  const project = { id, backend };
  const temporal = await connectTemporal();
  try {
    const handle = await startProjectOperation(temporal.client, {
      operation,
      input: { project, settings, requestedBy: opts.requestedBy ?? defaultRequester(), ...(opts.purge ? { purge: true } : {}) },
      taskQueue: temporal.settings.taskQueue,
      waitLock: Boolean(opts.waitLock),
      waitLockTimeoutMs: durationSeconds(opts.waitLockTimeout, '--wait-lock-timeout') * 1000,
      onWaiting: (holder) => out.progress(`waiting for the lock: ${describeHolder(holder)}`),
    });
    const runId = handle.firstExecutionRunId;
    const uiUrl = workflowUiUrl(temporal.settings.namespace, handle.workflowId, runId);
    out.info(`project ${operation} of ${id} (${backend}) started\n  workflow ${handle.workflowId} (run ${runId})\n  ${uiUrl}`);
    const base = { workflowId: handle.workflowId, runId, uiUrl };
    if (!opts.wait) {
      if (out.json) out.data(base);
      return EXIT.ok;
    }
    try {
      const outcome: ProjectOutcome = await followToEnd(handle, (line) => out.progress(line));
      out.info(outcome.detail);
      if (outcome.dbUrl) out.info(`  db_url ${outcome.dbUrl}`);
      if (out.json) out.data({ ...base, outcome });
      return EXIT.ok;
    } catch (err) {
      const failure = innermostFailure<ProjectOutcome>(err);
      if (!failure) throw err;
      out.info(`FAILED: ${failure.message}`);
      if (out.json) out.data({ ...base, error: failure.message, ...(failure.details ? { outcome: failure.details } : {}) });
      return failure.type === 'ProjectInputError' ? EXIT.badInput : EXIT.failed;
    }
  } finally {
    await temporal.close();
  }
}

/** What is shown of a recorded project without the secrets key: the URLs with every secret as `***`. */
function shown(record: ProjectRecord, settings: ProjectsSettings): ProjectSummary {
  return projectSummary(record, Object.fromEntries(settings.secrets.map((s) => [s.name, '***'])));
}

function describe(p: ProjectSummary): string {
  const ports = Object.entries(p.ports).map(([name, port]) => `${name}=${port}`).join(' ');
  return `${p.id}  ${p.backend}  ${p.status}${p.purged ? ' (purged)' : ''}  ${p.apiUrl ?? '-'}  ${ports}${p.error ? `  error: ${p.error}` : ''}`;
}

export async function runProjectList(out: Output, opts: { config: string; all?: boolean }): Promise<number> {
  const { settings } = await loadProjects(opts.config);
  const rows = await withRecords((r) => r.projects.listProjects({ includePurged: Boolean(opts.all) }));
  const list = rows.map((row) => shown(row, settings));
  if (out.json) out.data(list);
  else if (list.length === 0) out.info('no projects recorded');
  else for (const p of list) out.info(describe(p));
  return EXIT.ok;
}

export async function runProjectShow(out: Output, id: string, opts: { config: string; reveal?: boolean }): Promise<number> {
  const { settings, backend } = await loadProjects(opts.config, id);
  const record = await withRecords((r) => r.projects.getProject(backend, id));
  if (!record) throw new CliError(`no project ${id} (${backend}) is recorded; \`fraisier project list\` shows those that are`, EXIT.badInput);
  const summary = shown(record, settings);
  let secrets: Record<string, string> | undefined;
  if (opts.reveal) {
    try {
      const key = await loadSecretsKey({ env: process.env, dataDir: dataDir() });
      secrets = decryptSecrets(key, { keyId: record.secretsKeyId, ciphertext: record.secretsCiphertext });
    } catch (err) {
      throw new CliError(`cannot reveal the secrets of ${id}: ${(err as Error).message}`, EXIT.badInput);
    }
  }
  const lock = projectLockKey(backend, id);
  if (out.json) out.data({ ...summary, lock, ...(secrets ? { secrets } : {}) });
  else {
    out.info(describe(summary));
    if (summary.dbUrl) out.info(`  db_url ${summary.dbUrl}`);
    out.info(`  created ${summary.createdAt}, updated ${summary.updatedAt}; lock ${lock}`);
    for (const [name, value] of Object.entries(secrets ?? {})) out.info(`  ${name}=${value}`);
  }
  return EXIT.ok;
}
