import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { Operation, OperationStatus } from './types';
import type { ReleaseData } from '../domain/release';
import type { ProjectBackend, ProjectStatus } from '../domain/projects';
import type { Target } from '../domain/target';

/*
 * The tables as the records layer sees them: camelCase names, which Kysely's CamelCasePlugin maps to the
 * snake_case columns the migrations create.
 */

/** A timestamptz column: read as a Date (pg parses it), written as a Date. */
type Timestamp = ColumnType<Date, Date, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
/**
 * An int8 column. pg hands int8 back as a string (it may not fit a JS number), so the records layer
 * converts it; writes take a number.
 */
type Int8 = ColumnType<string | number | null, number | null | undefined, number | null>;
type NullableText = ColumnType<string | null, string | null | undefined, string | null>;

export interface DeploymentsTable {
  workflowId: string;
  runId: string;
  fraise: string;
  environment: string;
  provider: string;
  operation: Operation;
  version: string;
  previousVersion: string | null;
  status: OperationStatus;
  url: NullableText;
  error: NullableText;
  logs: NullableText;
  requestedBy: string;
  ephemeral: boolean;
  ttlSeconds: number | null;
  expiresAt: NullableTimestamp;
  startedAt: Timestamp;
  finishedAt: NullableTimestamp;
  durationMs: Int8;
  cleanedAt: NullableTimestamp;
  providerRef: NullableText;
  /** Written as JSON text; pg (and PGlite behind the socket) read it back parsed. */
  target: JSONColumnType<Target, string, string>;
}

export interface ReleasesTable {
  workflowId: string;
  runId: string;
  fraise: string;
  environment: string;
  provider: string;
  version: string;
  artifact: JSONColumnType<ReleaseData['artifact'], string, string>;
  createdAt: Timestamp;
}

export interface TargetStateTable {
  fraise: string;
  environment: string;
  provider: string;
  state: JSONColumnType<Record<string, unknown>, string, string>;
  updatedAt: Timestamp;
}

export interface ProjectsTable {
  backend: ProjectBackend;
  id: string;
  status: ProjectStatus;
  template: string;
  secretsCiphertext: string;
  secretsKeyId: string;
  apiUrlTemplate: string | null;
  dbUrlTemplate: string | null;
  providerRef: NullableText;
  purged: ColumnType<boolean, boolean | undefined, boolean>;
  error: NullableText;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** One row per allocated host port: the port is the primary key, so no two projects share one. */
export interface ProjectPortsTable {
  port: number;
  backend: ProjectBackend;
  projectId: string;
  name: string;
}

/** kysely's own bookkeeping tables (created by its Migrator). */
export interface KyselyMigrationTable {
  name: string;
  timestamp: string;
}

export interface KyselyMigrationLockTable {
  id: string;
  isLocked: Generated<number>;
}

export interface Database {
  deployments: DeploymentsTable;
  releases: ReleasesTable;
  targetState: TargetStateTable;
  projects: ProjectsTable;
  projectPorts: ProjectPortsTable;
  kyselyMigration: KyselyMigrationTable;
  kyselyMigrationLock: KyselyMigrationLockTable;
}
