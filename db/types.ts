import type { OperationKey, OperationStatus } from '../domain/operations';
import type { ProjectBackend, ProjectStatus } from '../domain/projects';
import type { ReleaseData } from '../domain/release';
import type { Target, TargetKey } from '../domain/target';

export type { OperationKey, OperationStatus } from '../domain/operations';
export type Operation = 'deploy' | 'rollback';

export interface NewOperation extends OperationKey {
  target: Target;
  operation: Operation;
  version: string;
  previousVersion: string | null;
  requestedBy: string;
  ephemeral: boolean;
  ttlSeconds: number | null;
  startedAt: Date;
}

export interface OperationResult {
  status: 'succeeded' | 'failed' | 'rolled_back';
  url: string | null;
  error: string | null;
  /** Provider logs attached to a failure. */
  logs: string | null;
  finishedAt: Date;
}

/** How a record left "running" by a run that is closed is ended (see activities/reconcile.ts). */
export interface ReconciledResult {
  status: 'failed' | 'terminated' | 'timed_out';
  error: string;
  finishedAt: Date;
}

export interface DeploymentRecord extends OperationKey, TargetKey {
  operation: Operation;
  version: string;
  previousVersion: string | null;
  status: OperationStatus;
  url: string | null;
  error: string | null;
  logs: string | null;
  requestedBy: string;
  ephemeral: boolean;
  ttlSeconds: number | null;
  expiresAt: Date | null;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  cleanedAt: Date | null;
  /** The provider's own id of the deployment this operation started (a Coolify deployment uuid), once known. */
  providerRef: string | null;
  /** The target as it was resolved for this operation, so cleanup can act without fraises.yaml. */
  target: Target;
}

export interface ReleaseRecord extends OperationKey, TargetKey {
  version: string;
  artifact: ReleaseData['artifact'];
  createdAt: Date;
}

export interface NewRelease extends OperationKey, TargetKey {
  release: ReleaseData;
  createdAt: Date;
}

/** The records API the activities and the CLI use; implemented on kysely in db/records.ts. */
export interface Records {
  /** The projects (tenants) and their ports (db/projects.ts). */
  projects: ProjectRecords;
  /** Idempotent on (workflowId, runId): a retried activity never duplicates the row. */
  recordStart(op: NewOperation): Promise<void>;
  /** Idempotent: writing the same result twice leaves one row with that result. */
  recordResult(key: OperationKey, result: OperationResult): Promise<void>;
  /** Ends a record only while it is still "running"; true when it did. */
  closeRunning(key: OperationKey, result: ReconciledResult): Promise<boolean>;
  /** Notes the provider's id of the deployment this operation started; idempotent. */
  recordProviderRef(key: OperationKey, providerRef: string): Promise<void>;
  /** The operation still running whose provider deployment is `providerRef`, if any. */
  runningByProviderRef(provider: string, providerRef: string): Promise<DeploymentRecord | undefined>;
  /** Records still "running", oldest first, at most `limit`. */
  findRunning(limit: number): Promise<DeploymentRecord[]>;
  /** Idempotent on (workflowId, runId). */
  recordRelease(release: NewRelease): Promise<void>;
  /** The release most recently recorded for the target. */
  currentRelease(target: TargetKey): Promise<ReleaseRecord | undefined>;
  /** The most recent release whose version differs from the current one. */
  previousRelease(target: TargetKey): Promise<ReleaseRecord | undefined>;
  /** The most recent release of that version. */
  releaseByVersion(target: TargetKey, version: string): Promise<ReleaseRecord | undefined>;
  /** Every recorded release of the target, newest first. */
  listReleases(target: TargetKey): Promise<ReleaseRecord[]>;
  /** Keeps the newest `keep` distinct versions of the target's releases; returns how many rows went. */
  pruneReleases(target: TargetKey, keep: number): Promise<number>;
  getOperation(key: OperationKey): Promise<DeploymentRecord | undefined>;
  /** Newest first; any field of the filter may be left out. */
  history(filter: Partial<TargetKey>, limit: number): Promise<DeploymentRecord[]>;
  /** The newest operation on the target, whatever its status. */
  latestOperation(target: TargetKey): Promise<DeploymentRecord | undefined>;
  /**
   * Ephemeral operations not yet cleaned whose time is up at `now`: their expiresAt has passed, or they
   * have no TTL and started more than `thresholdSeconds` before `now`. Oldest first, at most `limit`.
   */
  findExpiredEphemeral(now: Date, thresholdSeconds: number, limit: number): Promise<DeploymentRecord[]>;
  /** Sets cleanedAt (once: an already cleaned row keeps its first time). */
  markCleaned(keys: OperationKey[], at: Date): Promise<void>;
  /** The provider's state for the target (see TargetState in the provider contract). */
  loadTargetState(target: TargetKey): Promise<Record<string, unknown> | undefined>;
  saveTargetState(target: TargetKey, state: Record<string, unknown>, at: Date): Promise<void>;
  close(): Promise<void>;
}

/** A project as recorded (db/projects.ts). Its secrets stay encrypted here; its URLs are templates. */
export interface ProjectRecord {
  backend: ProjectBackend;
  id: string;
  status: ProjectStatus;
  /** The compose template's text the stack was made from (restore makes it again from this). */
  template: string;
  /** Host ports by name; empty until allocatePorts. */
  ports: Record<string, number>;
  /** base64 of iv | tag | data (AES-256-GCM), under the key secretsKeyId. */
  secretsCiphertext: string;
  secretsKeyId: string;
  apiUrlTemplate: string | null;
  dbUrlTemplate: string | null;
  /** The backend's own id of the stack (Coolify uuids), once known. */
  providerRef: string | null;
  purged: boolean;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewProject {
  backend: ProjectBackend;
  id: string;
  template: string;
  secretsCiphertext: string;
  secretsKeyId: string;
  apiUrlTemplate: string | null;
  dbUrlTemplate: string | null;
  createdAt: Date;
}

export interface ProjectStatusChange {
  /** Set on this change; a change without one clears the previous error. */
  error?: string | null;
  /** Only with status 'deleted': the data is gone too, and the ports are released. Never undone. */
  purged?: boolean;
  /** Set when given, kept otherwise. */
  providerRef?: string;
  at?: Date;
}

/** The projects' records, on kysely in db/projects.ts. */
export interface ProjectRecords {
  /**
   * Records the project once: a second call (a retried activity, a second provision) returns the existing row
   * with its first secrets, and created false.
   */
  createProjectOnce(project: NewProject): Promise<{ project: ProjectRecord; created: boolean }>;
  /**
   * Host ports for each name, from the range: the ones it already holds, and free ones for the others. Idempotent,
   * safe under concurrent calls (the port is the primary key of project_ports). Throws when the range is full.
   */
  allocatePorts(backend: ProjectBackend, id: string, names: readonly string[], range: { from: number; to: number }): Promise<Record<string, number>>;
  /**
   * A purged project provisioned again: not purged any more, status provisioning, with the new secrets and template
   * given (its old data is gone). Idempotent: a project that is not purged is returned as it is.
   */
  reviveProject(project: NewProject): Promise<ProjectRecord>;
  getProject(backend: ProjectBackend, id: string): Promise<ProjectRecord | undefined>;
  /** Oldest first; purged projects only when asked. */
  listProjects(filter?: { backend?: ProjectBackend; includePurged?: boolean }): Promise<ProjectRecord[]>;
  /** Throws when the project is not recorded. */
  setProjectStatus(backend: ProjectBackend, id: string, status: ProjectStatus, change?: ProjectStatusChange): Promise<ProjectRecord>;
  /**
   * Status 'deleted'. The row stays, and so do its ports, so that restore brings the project back where it was;
   * with purged (its data is gone too) the ports are released for other projects.
   */
  markDeleted(backend: ProjectBackend, id: string, options?: { purged?: boolean; at?: Date }): Promise<ProjectRecord>;
}
