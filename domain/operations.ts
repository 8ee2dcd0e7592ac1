/**
 * The operations' inputs and outcomes, shared by the client, the workflows and the activities (the role
 * `shared.ts` plays in Temporal's samples). Plain JSON: it crosses every boundary.
 */
import type { ReleaseData } from './release';
import type { Target } from './target';

export interface DeployInput {
  target: Target;
  version: string;
  requestedBy: string;
  /** An ephemeral (test) deployment: cleanup removes it once this many seconds have gone by. */
  ttlSeconds?: number | null;
  /** Bound on waiting for the release to come up (default: the target's bounds). */
  readyTimeoutSeconds?: number;
}

export interface RollbackInput {
  target: Target;
  /** A recorded version to go back to; the previous release when absent. */
  toVersion?: string | null;
  requestedBy: string;
  readyTimeoutSeconds?: number;
}

/** Stops a target, or starts it again on its recorded release (fraisier stop / fraisier start). */
export interface PowerInput {
  target: Target;
  action: 'start' | 'stop';
  requestedBy: string;
  /** Bound on waiting for a started target to come up (default: the target's bounds). */
  readyTimeoutSeconds?: number;
}

export type OperationStatus = 'running' | 'succeeded' | 'failed' | 'rolled_back' | 'terminated' | 'timed_out';

export interface OperationOutcome {
  operation: 'deploy' | 'rollback' | 'start' | 'stop';
  status: 'succeeded' | 'failed' | 'rolled_back';
  version: string;
  previousVersion: string | null;
  url: string | null;
  detail: string;
  /** The provider's logs when the operation failed. */
  logs: string | null;
  /** The version put back automatically after a failed deploy. */
  rolledBackTo: string | null;
}

/** The memo every locking workflow carries, so a refused caller is told who holds the lock. */
export interface LockMemo {
  operation: string;
  version: string;
  requestedBy: string;
}

/** What the workflows learn of a recorded release. */
export interface ReleaseSummary extends ReleaseData {
  recordedAt: string;
}

/** One workflow run: an operation is recorded under it exactly once. */
export interface OperationKey {
  workflowId: string;
  runId: string;
}

/** One group of expired ephemeral records that share a target. */
export interface CleanupItem {
  target: Target;
  keys: OperationKey[];
  /** True when a later, non-ephemeral operation replaced it: only the records are marked, the service stays. */
  superseded: boolean;
  versions: string[];
}

export interface CleanupInput {
  /** Ephemeral deployments without a TTL expire this long after they started (default 24 h). */
  thresholdSeconds?: number;
  /** How many targets are cleaned at once. */
  concurrency?: number;
  /** Expired records handled per run before continuing as new, which keeps each run's history bounded. */
  itemsPerRun?: number;
  dryRun?: boolean;
  /** Carried across continue-as-new. */
  totals?: CleanupSummary;
}

export interface CleanupSummary {
  cleaned: string[];
  superseded: string[];
  skipped: string[];
  failed: string[];
  /** In a dry run: what would be cleaned. */
  wouldClean: string[];
  /** Records left "running" by a workflow that was terminated or timed out, now marked with what Temporal says. */
  reconciled?: string[];
}
