import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { progressQuery, type ProgressSnapshot } from '../workflows/progress';

/** Prints each change of the workflow's progress while it runs; returns its result or rethrows its failure. */
export async function followToEnd<R>(
  handle: WorkflowHandle,
  print: (line: string) => void,
  intervalMs = 1_000,
): Promise<R> {
  let last = '';
  const show = (p: ProgressSnapshot): void => {
    const step = p.steps.find((s) => s.name === p.current);
    const line = `  ${p.current}${step?.state && step.state !== 'running' ? ` (${step.state})` : ''}${step?.detail ? `: ${step.detail}` : ''}`;
    if (line !== last) print(line);
    last = line;
  };
  let done = false;
  const watcher = (async () => {
    while (!done) {
      const snapshot = await handle.query(progressQuery).catch(() => undefined);
      if (snapshot && !done) show(snapshot);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  try {
    return (await handle.result()) as R;
  } finally {
    done = true;
    await watcher;
  }
}

/** The outcome a failed fraisier workflow attached to its failure, if any. */
export function failureDetails<T>(err: unknown): { message: string; details?: T } | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    return { message: cause.message, ...(cause.details?.[0] !== undefined ? { details: cause.details[0] as T } : {}) };
  }
  return { message: cause?.message ?? err.message };
}
