/** A workflow's history read back: durations of activities, timers, workflow tasks and child workflows, from event timestamps. */
import type { WorkflowHandle } from '@temporalio/client';

type LongLike = { toNumber(): number } | number | null | undefined;
interface TimestampLike {
  seconds?: LongLike;
  nanos?: number | null;
}

export function num(v: LongLike): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function tsMs(t: TimestampLike | null | undefined): number {
  return t ? num(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6 : Number.NaN;
}

export interface HistoryBreakdown {
  /** WorkflowExecutionStarted to the closing event. */
  workflowMs: number;
  /** Activity type -> total scheduled-to-closed ms and how many ran. */
  activities: Map<string, { ms: number; count: number }>;
  timersMs: number;
  workflowTasksMs: number;
  /** Child workflows: initiated-to-closed ms each. */
  childMs: number[];
}

export async function historyBreakdown(handle: WorkflowHandle): Promise<HistoryBreakdown> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const scheduled = new Map<string, { type: string; at: number }>();
  const timers = new Map<string, number>();
  const wfTasks = new Map<string, number>();
  const children = new Map<string, number>();
  const out: HistoryBreakdown = { workflowMs: Number.NaN, activities: new Map(), timersMs: 0, workflowTasksMs: 0, childMs: [] };
  let startedAt = Number.NaN;
  for (const e of events) {
    const at = tsMs(e.eventTime);
    const id = String(num(e.eventId));
    if (e.workflowExecutionStartedEventAttributes) startedAt = at;
    if (
      e.workflowExecutionCompletedEventAttributes ||
      e.workflowExecutionFailedEventAttributes ||
      e.workflowExecutionContinuedAsNewEventAttributes ||
      e.workflowExecutionTerminatedEventAttributes ||
      e.workflowExecutionTimedOutEventAttributes
    ) {
      out.workflowMs = at - startedAt;
    }
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) scheduled.set(id, { type: sched.activityType?.name ?? '?', at });
    const closedBy =
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId;
    if (closedBy !== undefined && closedBy !== null) {
      const s = scheduled.get(String(num(closedBy)));
      if (s) {
        const entry = out.activities.get(s.type) ?? { ms: 0, count: 0 };
        entry.ms += at - s.at;
        entry.count += 1;
        out.activities.set(s.type, entry);
      }
    }
    if (e.timerStartedEventAttributes) timers.set(id, at);
    const fired = e.timerFiredEventAttributes?.startedEventId;
    if (fired !== undefined && fired !== null) out.timersMs += at - (timers.get(String(num(fired))) ?? at);
    if (e.workflowTaskScheduledEventAttributes) wfTasks.set(id, at);
    const wftDone = e.workflowTaskCompletedEventAttributes?.scheduledEventId;
    if (wftDone !== undefined && wftDone !== null) out.workflowTasksMs += at - (wfTasks.get(String(num(wftDone))) ?? at);
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) children.set(id, at);
    const childDone =
      e.childWorkflowExecutionCompletedEventAttributes?.initiatedEventId ??
      e.childWorkflowExecutionFailedEventAttributes?.initiatedEventId;
    if (childDone !== undefined && childDone !== null) {
      const from = children.get(String(num(childDone)));
      if (from !== undefined) out.childMs.push(at - from);
    }
  }
  return out;
}

export function activityMs(b: HistoryBreakdown, ...types: string[]): number {
  return types.reduce((sum, t) => sum + (b.activities.get(t)?.ms ?? 0), 0);
}

export function activityCount(b: HistoryBreakdown, type: string): number {
  return b.activities.get(type)?.count ?? 0;
}
