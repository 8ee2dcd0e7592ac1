/**
 * Where a project's stack runs. One folder per backend under backends/, none importing another; the project
 * activities (activities/projects/activities.ts) pick one by the project's backend.
 */
import type { CommandRunner } from '../../commandRunner';
import type { ProjectRef, StackState } from '../../../domain/projectOperations';
import type { ProjectsSettings } from '../../../domain/projects';

/** Raised for failures that retrying will not fix (a missing template, a refused token, no such stack). */
export class ProjectInputError extends Error {
  override readonly name = 'ProjectInputError';
}

/** What a backend call gets: the one command runner, cancellation, progress (turned into heartbeats). */
export interface StackContext {
  run: CommandRunner;
  signal: AbortSignal;
  /** When the activity attempt must be done by (epoch ms): a backend that waits gives up before it. */
  deadline: number;
  /**
   * The projects: section the operation was started with: what a backend needs to find a stack by name
   * (projects.coolify). Null from a workflow started before it was passed to every call.
   */
  settings: ProjectsSettings | null;
  log(message: string): void;
}

/** A stack to bring up: the compose file as it must run, and the variables compose reads from the env file. */
export interface StackSpec {
  project: ProjectRef;
  /** The rendered compose file: ports and id filled in, secrets left as ${NAME} for compose to take from `env`. */
  compose: string;
  /** PROJECT_ID, the ports and the secrets: written mode 0600, never logged. */
  env: Record<string, string>;
}

export interface ProjectStackBackend {
  /** Creates or updates the stack and starts it (idempotent: a second call leaves one stack). Returns the backend's id of it, if any. */
  up(ctx: StackContext, spec: StackSpec): Promise<{ ref?: string }>;
  /** Starts a stopped stack again; a ProjectInputError when there is none to start. */
  start(ctx: StackContext, project: ProjectRef, ref: string | null): Promise<void>;
  stop(ctx: StackContext, project: ProjectRef, ref: string | null): Promise<void>;
  /** Removes containers and network, volumes too with `volumes`; succeeds when nothing is left already. */
  down(ctx: StackContext, project: ProjectRef, ref: string | null, options: { volumes: boolean }): Promise<void>;
  state(ctx: StackContext, project: ProjectRef, ref: string | null): Promise<StackState>;
}
