/**
 * Patch ids of workflow changes (see `patched()` in @temporalio/workflow). A run recorded before a patch
 * replays without it; every run started since takes it. Remove a patch only once no history without it can
 * be replayed any more (past the namespace's retention, and no fixture in test/histories lacks it).
 */

/** Provider contract, second pass: cancel the provider's own work on cancellation, prune provider-side
 * releases after recording one, the automatic rollback waits with the deploy's ready timeout, cleanup
 * reconciles records left running. */
export const CONTRACT_V2 = 'provider-contract-v2';

/** An asynchronous deployment (the provider gave it an id) is waited for by one heartbeating activity, cut short
 * by a pushed deploymentEnded signal, instead of timers between probes. */
export const ASYNC_WAIT = 'async-wait';

/** A deploy or rollback that fails by an error no step turned into an outcome records its end before failing. */
export const RECORD_UNEXPECTED_FAILURE = 'record-unexpected-failure';

/** Fewer activities per deploy (a bounded history, at most 60 events): validate and preflight run as one activity
 * (checkTarget), and recording a successful release and its result is one activity (recordSucceeded), with the
 * best-effort pruning of provider-side releases after it. */
export const FEWER_ACTIVITIES = 'fewer-activities';

/** Cleanup keeps `concurrency` targets in progress at all times (a new one starts as soon as one ends), instead of
 * starting them batch by batch, where each batch waited for its slowest target. */
export const CLEANUP_POOL = 'cleanup-pool';
