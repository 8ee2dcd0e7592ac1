/**
 * The commands of the local backend, as plain data (argv arrays), built from validated values only and run
 * elsewhere (the one command runner). A project's stack is the compose project `fraisier-project-<id>`.
 */
import type { CommandSpec } from '../../../commandRunner';
import { validateProjectId } from '../../../../domain/projects';

export const TIMEOUTS = { up: 10 * 60_000, stop: 5 * 60_000, look: 60_000 } as const;

/** The compose project of a project's stack. */
export function composeProjectName(id: string): string {
  return `fraisier-project-${validateProjectId(id)}`;
}

export interface StackFiles {
  /** Absolute paths: the rendered compose file and its env file. */
  composeFile: string;
  envFile: string;
}

function absolute(p: string, what: string): string {
  if (!p.startsWith('/') || /[\0\n]/.test(p)) throw new Error(`refusing to build a command with ${what} ${JSON.stringify(p)}`);
  return p;
}

/** `docker compose -p <project> [-f <file> --env-file <env>]`: without files, compose finds the stack by its labels. */
function compose(id: string, files: StackFiles | null, args: readonly string[], timeoutMs: number): CommandSpec {
  const base = ['docker', 'compose', '-p', composeProjectName(id)];
  const withFiles = files ? [...base, '-f', absolute(files.composeFile, 'compose file'), '--env-file', absolute(files.envFile, 'env file')] : base;
  return { argv: [...withFiles, ...args], timeoutMs };
}

export function up(id: string, files: StackFiles): CommandSpec {
  return compose(id, files, ['up', '-d', '--remove-orphans'], TIMEOUTS.up);
}

export function start(id: string, files: StackFiles): CommandSpec {
  return compose(id, files, ['start'], TIMEOUTS.up);
}

export function stop(id: string, files: StackFiles | null): CommandSpec {
  return compose(id, files, ['stop'], TIMEOUTS.stop);
}

export function down(id: string, files: StackFiles | null, volumes: boolean): CommandSpec {
  return compose(id, files, ['down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])], TIMEOUTS.stop);
}

/** One line per container of the stack (stopped ones too): its state (running, exited, created…). */
export function containerStates(id: string): CommandSpec {
  return {
    argv: ['docker', 'container', 'ls', '-a', '--filter', `label=com.docker.compose.project=${composeProjectName(id)}`, '--format', '{{.State}}'],
    timeoutMs: TIMEOUTS.look,
  };
}
