export type * from './types';
export type { Database } from './schema';
export { createRecords } from './records';
export { migrateToLatest, type MigrationReport } from './migrate';
export { databaseUrl, openDatabase, openRecords, type OpenRecordsOptions } from './connect';
export {
  DEFAULT_PGLITE_DIR,
  embeddedUrlFile,
  startEmbeddedDatabase,
  type EmbeddedDatabase,
  type EmbeddedDatabaseOptions,
} from './embedded';
