import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type Workflow, type WorkflowResultType } from '@temporalio/common';
import { progressQuery, type ProgressSnapshot } from '../workflows/progress';

const QUERY_DEADLINE_MS = 3_000;

/**
 * The workflow's progress, or undefined when no worker answers within `deadlineMs` (a query needs a live worker).
 * The bound is kept here, by a timer that aborts the call: with many queries at once the RPC's own deadline was
 * measured to let them run 2 s (`npm run bench -- --phases lock`).
 */
export async function queryProgress(handle: WorkflowHandle, deadlineMs = QUERY_DEADLINE_MS): Promise<ProgressSnapshot | undefined> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve(undefined);
    }, deadlineMs);
  });
  const query = handle.client.connection
    .withAbortSignal(abort.signal, () => handle.client.connection.withDeadline(Date.now() + deadlineMs, () => handle.query(progressQuery)))
    .catch(() => undefined);
  try {
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Formats the steps that changed since `seen` (name -> "state detail"), and records them there. */
export function progressLines(snapshot: ProgressSnapshot, seen: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const step of snapshot.steps) {
    if (step.state === 'pending') continue;
    const text = `${step.state}${step.detail ? `: ${step.detail}` : ''}`;
    if (seen.get(step.name) === text) continue;
    seen.set(step.name, text);
    lines.push(`  ${step.name} (${text})`);
  }
  return lines;
}

/** Prints each step as it changes while the workflow runs; returns its result or rethrows its failure. */
export async function followToEnd<W extends Workflow>(handle: WorkflowHandle<W>, print: (line: string) => void, intervalMs = 1_000): Promise<WorkflowResultType<W>> {
  const seen = new Map<string, string>();
  const show = (snapshot: ProgressSnapshot | undefined): void => {
    if (snapshot) for (const line of progressLines(snapshot, seen)) print(line);
  };
  let done = false;
  const watcher = (async () => {
    while (!done) {
      const snapshot = await queryProgress(handle);
      if (!done) show(snapshot);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  try {
    return await handle.result();
  } finally {
    done = true;
    await watcher;
    show(await queryProgress(handle));
  }
}

/** The outcome a failed fraisier workflow attached to its failure, if any. */
export function failureDetails<T>(err: unknown): { message: string; type?: string; details?: T } | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    return {
      message: cause.message,
      ...(cause.type ? { type: cause.type } : {}),
      ...(cause.details?.[0] !== undefined ? { details: cause.details[0] as T } : {}),
    };
  }
  return { message: cause?.message ?? err.message };
}

/**
 * Like failureDetails, but the reason is the innermost cause's (an activity's ApplicationFailure under its
 * ActivityFailure, say), its type the innermost one given; the details are the outermost attached.
 */
export function innermostFailure<T>(err: unknown): { message: string; type?: string; details?: T } | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  let cause: unknown = err.cause;
  let details: T | undefined;
  let message = err.message;
  let type: string | undefined;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure) {
      details ??= cause.details?.[0] as T | undefined;
      type = cause.type ?? type;
    }
    message = cause.message;
    cause = cause.cause;
  }
  return { message, ...(type ? { type } : {}), ...(details ? { details } : {}) };
}
