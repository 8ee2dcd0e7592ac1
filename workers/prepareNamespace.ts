import { Client, isGrpcServiceError, type Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureCleanupSchedule } from './cleanupSchedule';
import { ensureSearchAttributes } from './searchAttributes';
import type { TemporalSettings } from '../config/temporal';

/** gRPC NOT_FOUND. */
const NOT_FOUND = 5;

/**
 * Registers a namespace on a cluster that lacks it (a new cluster; the dev server makes its own). Leaves an
 * existing one alone, retention included. True when it registered it.
 */
export async function ensureNamespace(connection: Connection, namespace: string, retention: string = '3 days'): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return false;
  } catch (err) {
    if (!isGrpcServiceError(err) || err.code !== NOT_FOUND) throw err;
  }
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(retention) });
  } catch (err) {
    // Registered by someone else in between: what we wanted.
    if (isGrpcServiceError(err) && /already/i.test(err.details ?? err.message)) return false;
    throw err;
  }
  return true;
}

/** What a namespace needs before fraisier's workers run in it; idempotent, so every worker start may call it. */
export async function prepareNamespace(
  connection: Connection,
  settings: TemporalSettings,
): Promise<{ addedSearchAttributes: string[]; schedule: 'created' | 'exists' }> {
  const addedSearchAttributes = await ensureSearchAttributes(connection, settings.namespace);
  const schedule = await ensureCleanupSchedule(new Client({ connection, namespace: settings.namespace }), settings.taskQueue);
  return { addedSearchAttributes, schedule };
}
