/**
 * The worker's log lines. A failure fraisier raises on purpose (a failed health check, a refused config, no
 * release to roll back to) is one line naming the workflow and the reason; a stack trace is kept for the
 * unexpected, where it helps.
 */
import { format } from 'node:util';
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

/** ApplicationFailure types the workflows and activities raise for outcomes they expect. */
export const EXPECTED_FAILURE_TYPES: ReadonlySet<string> = new Set([
  'DeployFailed',
  'RollbackFailed',
  'StartFailed',
  'PreflightFailed',
  'NoRelease',
  'InvalidTarget',
  'ProviderInputError',
  'CleanupFailed',
]);

/**
 * The expected failure in a log entry's metadata, if that is what it carries: an ApplicationFailure of one of
 * our types, or the ApplicationFailure a workflow failed with. The latter reaches the log from the workflow
 * thread as a structured clone: a plain Error whose stack still starts with "ApplicationFailure:", without its
 * type. fraisier's workflows fail only by throwing one on purpose (a bug in workflow code fails the workflow
 * task, which is retried, not the workflow).
 */
function expectedFailure(entry: LogEntry): { message: string; type?: string } | undefined {
  const error: unknown = entry.meta?.error;
  if (!(error instanceof Error)) return undefined;
  const type = (error as { type?: unknown }).type;
  if (typeof type === 'string' && type !== '') return EXPECTED_FAILURE_TYPES.has(type) ? { message: error.message, type } : undefined;
  const isApplicationFailure = error.name === 'ApplicationFailure' || (error.stack ?? '').startsWith('ApplicationFailure: ');
  if (entry.message === 'Workflow failed' && isApplicationFailure) return { message: error.message };
  return undefined;
}

/** One log line (no trailing newline). */
export function formatLogEntry(entry: LogEntry): string {
  const when = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const failure = expectedFailure(entry);
  if (failure) {
    const where = [entry.meta?.workflowType ?? entry.meta?.activityType, entry.meta?.workflowId].filter(Boolean).join(' ');
    return `${when} [${entry.level}] ${entry.message}: ${where ? `${String(where)}: ` : ''}${failure.message}${failure.type ? ` (${failure.type})` : ''}`;
  }
  const meta = entry.meta;
  if (meta === undefined) return `${when} [${entry.level}] ${entry.message}`;
  // A provider's progress (ctx.log): which operation and step it belongs to, without the task token and the rest.
  if (meta.sdkComponent === 'activity' && meta.error === undefined && (entry.level === 'INFO' || entry.level === 'DEBUG')) {
    const attempt = typeof meta.attempt === 'number' && meta.attempt > 1 ? ` attempt ${meta.attempt}` : '';
    return `${when} [${entry.level}] ${String(meta.workflowId)} ${String(meta.activityType)}${attempt}: ${entry.message}`;
  }
  return `${when} [${entry.level}] ${entry.message} ${format(meta)}`;
}

export function fraisierLogger(level: LogLevel = 'INFO', write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): DefaultLogger {
  return new DefaultLogger(level, (entry) => write(formatLogEntry(entry)));
}
