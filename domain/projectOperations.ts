/**
 * The project operations' inputs and outcomes (provision, stop, start, delete, restore), shared by the client, the
 * workflows and the activities. Plain JSON, and never a secret: workflows pass the project id, activities load
 * and decrypt what they need.
 */
import type { ProjectBackend, ProjectsSettings, ProjectSummary } from './projects';

export const PROJECT_OPERATIONS = ['provision', 'stop', 'start', 'delete', 'restore'] as const;
export type ProjectOperation = (typeof PROJECT_OPERATIONS)[number];

export interface ProjectRef {
  id: string;
  backend: ProjectBackend;
}

export interface ProjectOperationInput {
  project: ProjectRef;
  /** The projects: section as the client resolved it (template path, secrets to make, ports, URLs, health check). */
  settings: ProjectsSettings;
  requestedBy: string;
  /** delete only: remove the volumes too; the project cannot be restored afterwards. */
  purge?: boolean;
}

/** What an operation says of the project: URLs with their password masked, never a secret. */
export interface ProjectOutcome extends Pick<ProjectSummary, 'id' | 'backend' | 'status' | 'apiUrl' | 'dbUrl' | 'ports'> {
  operation: ProjectOperation;
  detail: string;
}

/** What the health probe of a project's API found. */
export interface ProjectHealth {
  ok: boolean;
  detail: string;
}

/** What runs of a project's stack: every service up, some, none, or no trace of it. */
export type StackState = 'running' | 'partial' | 'stopped' | 'missing';
