import { Client, type Connection } from '@temporalio/client';
import { ensureCleanupSchedule } from './cleanupSchedule';
import { ensureSearchAttributes } from './searchAttributes';
import type { TemporalSettings } from '../config/temporal';

/** What a namespace needs before fraisier's workers run in it; idempotent, so every worker start may call it. */
export async function prepareNamespace(
  connection: Connection,
  settings: TemporalSettings,
): Promise<{ addedSearchAttributes: string[]; schedule: 'created' | 'exists' }> {
  const addedSearchAttributes = await ensureSearchAttributes(connection, settings.namespace);
  const schedule = await ensureCleanupSchedule(new Client({ connection, namespace: settings.namespace }), settings.taskQueue);
  return { addedSearchAttributes, schedule };
}
