import { isCancellation } from '@temporalio/workflow';
import type { Target } from '../domain/target';
import { probeActivities } from './activities';

/** Lines of the service's log attached to a failed operation. */
export const LOG_TAIL_ON_FAILURE = 100;

/** An error's message with its cause's (activity failures carry the real reason as their cause). */
export function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

/** The provider's recent logs for a failure report; a failure to get them is reported in their place. */
export async function fetchFailureLogs(target: Target): Promise<string> {
  try {
    return await probeActivities.fetchLogs(target, LOG_TAIL_ON_FAILURE);
  } catch (err) {
    if (isCancellation(err)) throw err;
    return `(logs unavailable: ${messageOf(err)})`;
  }
}
