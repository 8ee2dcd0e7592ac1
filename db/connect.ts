import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { DEFAULT_PGLITE_DIR, embeddedUrlFile } from './embedded';
import { migrateToLatest } from './migrate';
import { createRecords } from './records';
import type { Database } from './schema';
import type { Records } from './types';

/**
 * The database to use: `DATABASE_URL` when set, else the URL the embedded server started by
 * `npm start` wrote next to its data directory (`FRAISIER_PGLITE_DIR`, default `.data/pglite`).
 */
export function databaseUrl(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const explicit = env.DATABASE_URL?.trim();
  if (explicit) return explicit;
  const dataDir = path.resolve(cwd, env.FRAISIER_PGLITE_DIR?.trim() || DEFAULT_PGLITE_DIR);
  const file = embeddedUrlFile(dataDir);
  let url = '';
  try {
    url = readFileSync(file, 'utf8').trim();
  } catch {
    // Missing file: fall through to the error below.
  }
  if (url) return url;
  throw new Error(
    `no database: DATABASE_URL is not set and no embedded database is running (${file} not found). ` +
      'Run `npm start` (it serves an embedded database) or set DATABASE_URL to a PostgreSQL URL.',
  );
}

export interface OpenRecordsOptions {
  /** Pool size; small by default (the embedded server runs one query at a time anyway). */
  max?: number;
  /** Skip migrateToLatest (the caller has run it). */
  migrate?: boolean;
}

/** Opens a pooled connection, brings the schema up to date and returns the records API (close() ends the pool). */
export async function openRecords(url: string, options: OpenRecordsOptions = {}): Promise<Records> {
  const db = openDatabase(url, options.max);
  try {
    // Migrations name the snake_case columns themselves: they run without the plugin.
    if (options.migrate !== false) await migrateToLatest(db.withoutPlugins());
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw describeConnectError(url, error);
  }
  return createRecords(db);
}

/** A kysely instance (camelCase names) on a small pg pool; exported for tools and tests that need raw access. */
export function openDatabase(url: string, max = 4): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  // An idle client whose server went away (the embedded server stopped, PostgreSQL restarted) emits
  // 'error' on the pool; unhandled, it would crash the process. The next query reconnects or fails.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin({ maintainNestedObjectKeys: true })] });
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}

function describeConnectError(url: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET') {
    return new Error(
      `cannot reach the database at ${redact(url)} (${String(code)}). ` +
        'Is `npm start` running (embedded database), or is DATABASE_URL right?',
      { cause: error },
    );
  }
  return error;
}
