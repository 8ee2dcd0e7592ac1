/**
 * The local backend: a project's stack is a docker compose project on this worker's Docker host, made from the
 * rendered template and an env file (mode 0600) in a private directory per project under the data directory.
 */
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandResult } from '../../../commandRunner';
import type { ProjectRef, StackState } from '../../../../domain/projectOperations';
import { ProjectInputError, type ProjectStackBackend, type StackContext, type StackSpec } from '../contract';
import * as cmd from './commands';
import { envFileContent } from '../../template';

function failed(what: string, r: CommandResult): Error {
  const output = (r.stderr || r.stdout).trim().split('\n').slice(-10).join('\n');
  return new Error(`${what} failed (exit ${r.exitCode}): ${output}`);
}

/** Writes `content` to `file` with mode 0600, whole or not at all (a temporary file renamed over it). */
async function writePrivate(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

const exists = (p: string) => stat(p).then(() => true, () => false);

export function createLocalBackend(o: { dataDir: string }): ProjectStackBackend {
  const dirOf = (id: string) => path.join(o.dataDir, 'projects', cmd.composeProjectName(id));
  const filesOf = (id: string): cmd.StackFiles => ({ composeFile: path.join(dirOf(id), 'docker-compose.yml'), envFile: path.join(dirOf(id), '.env') });
  /** The files when they are there (they are not after a purge, or when the data directory was lost). */
  const presentFiles = async (id: string) => ((await exists(filesOf(id).composeFile)) && (await exists(filesOf(id).envFile)) ? filesOf(id) : null);

  async function state(ctx: StackContext, project: ProjectRef): Promise<StackState> {
    const r = await ctx.run(cmd.containerStates(project.id), { signal: ctx.signal });
    if (r.exitCode !== 0) throw failed(`listing the containers of ${cmd.composeProjectName(project.id)}`, r);
    const states = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    if (states.length === 0) return 'missing';
    const running = states.filter((s) => s === 'running').length;
    if (running === states.length) return 'running';
    return running === 0 ? 'stopped' : 'partial';
  }

  return {
    async up(ctx, spec: StackSpec) {
      const { id } = spec.project;
      const files = filesOf(id);
      await mkdir(dirOf(id), { recursive: true, mode: 0o700 });
      await chmod(dirOf(id), 0o700);
      await writePrivate(files.composeFile, spec.compose);
      await writePrivate(files.envFile, envFileContent(spec.env));
      ctx.log(`docker compose up of ${cmd.composeProjectName(id)}`);
      const r = await ctx.run(cmd.up(id, files), { signal: ctx.signal });
      if (r.exitCode !== 0) throw failed(`docker compose up of ${cmd.composeProjectName(id)}`, r);
      return {};
    },

    async start(ctx, project) {
      const files = await presentFiles(project.id);
      const now = await state(ctx, project);
      if (!files || now === 'missing') {
        throw new ProjectInputError(`project ${project.id} has no stack to start (its containers${files ? '' : ' and files'} are gone)`);
      }
      const r = await ctx.run(cmd.start(project.id, files), { signal: ctx.signal });
      if (r.exitCode !== 0) throw failed(`docker compose start of ${cmd.composeProjectName(project.id)}`, r);
    },

    async stop(ctx, project) {
      const r = await ctx.run(cmd.stop(project.id, await presentFiles(project.id)), { signal: ctx.signal });
      if (r.exitCode !== 0) throw failed(`docker compose stop of ${cmd.composeProjectName(project.id)}`, r);
    },

    async down(ctx, project, _ref, options) {
      const r = await ctx.run(cmd.down(project.id, await presentFiles(project.id), options.volumes), { signal: ctx.signal });
      if (r.exitCode !== 0) throw failed(`docker compose down of ${cmd.composeProjectName(project.id)}`, r);
      // With the volumes gone, nothing of the project is left to restore: its files go too.
      if (options.volumes) await rm(dirOf(project.id), { recursive: true, force: true });
    },

    state: (ctx, project) => state(ctx, project),
  };
}
