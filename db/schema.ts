import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { ReleaseData, Target } from '../activities/providers/contract';
import type { Operation, OperationStatus } from './types';

/** A timestamptz column: read as a Date (pg parses it), written as a Date. */
type Timestamp = ColumnType<Date, Date, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
/**
 * An int8 column. pg hands int8 back as a string (it may not fit a JS number), so the records layer
 * converts it; writes take a number.
 */
type Int8 = ColumnType<string | number | null, number | null | undefined, number | null>;

export interface DeploymentsTable {
  workflow_id: string;
  run_id: string;
  fraise: string;
  environment: string;
  provider: string;
  operation: Operation;
  version: string;
  previous_version: string | null;
  status: OperationStatus;
  url: ColumnType<string | null, string | null | undefined, string | null>;
  error: ColumnType<string | null, string | null | undefined, string | null>;
  logs: ColumnType<string | null, string | null | undefined, string | null>;
  requested_by: string;
  ephemeral: boolean;
  ttl_seconds: number | null;
  expires_at: NullableTimestamp;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
  duration_ms: Int8;
  cleaned_at: NullableTimestamp;
  /** Written as JSON text; pg (and PGlite behind the socket) read it back parsed. */
  target: JSONColumnType<Target, string, string>;
}

export interface ReleasesTable {
  workflow_id: string;
  run_id: string;
  fraise: string;
  environment: string;
  provider: string;
  version: string;
  artifact: JSONColumnType<ReleaseData['artifact'], string, string>;
  created_at: Timestamp;
}

/** kysely's own bookkeeping tables (created by its Migrator). */
export interface KyselyMigrationTable {
  name: string;
  timestamp: string;
}

export interface KyselyMigrationLockTable {
  id: string;
  is_locked: Generated<number>;
}

export interface Database {
  deployments: DeploymentsTable;
  releases: ReleasesTable;
  kysely_migration: KyselyMigrationTable;
  kysely_migration_lock: KyselyMigrationLockTable;
}
