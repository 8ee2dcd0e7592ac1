import type { Target } from '../activities/providers/contract';

export interface DeployInput {
  target: Target;
  version: string;
  requestedBy: string;
  /** An ephemeral (test) deployment: cleanup removes it once this many seconds have gone by. */
  ttlSeconds?: number | null;
  /** Bound on waiting for the release to come up (default 300 s). */
  readyTimeoutSeconds?: number;
}

export interface RollbackInput {
  target: Target;
  /** A recorded version to go back to; the previous release when absent. */
  toVersion?: string | null;
  requestedBy: string;
  readyTimeoutSeconds?: number;
}

export interface OperationOutcome {
  operation: 'deploy' | 'rollback';
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
}
