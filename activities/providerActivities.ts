/** The activities that reach a target through its provider. Each one is one provider call (see providerContext.ts). */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { findProvider, type ProviderEntry } from '../config/providers/index';
import { validateVersion } from '../domain/names';
import type {
  CancelReport,
  DeployStarted,
  HealthReport,
  PreflightReport,
  PruneReport,
  Readiness,
  ReleaseData,
  ServiceStatus,
} from '../domain/release';
import type { Target } from '../domain/target';
import type { Records } from '../db/types';
import { currentOperationKey } from './operationKey';
import { HEARTBEAT_EVERY_MS, withProvider, type ProviderCallDeps } from './providerContext';
import { ProviderInputError } from './providers/contract';

/** Where awaitRelease is, carried by its heartbeats so that a retry resumes. */
interface AwaitState {
  since: number;
  looks: number;
  pauseMs: number;
  detail: string;
}

function isAwaitState(value: unknown): value is AwaitState {
  const v = value as Partial<AwaitState> | null | undefined;
  return typeof v?.since === 'number' && typeof v.looks === 'number' && typeof v.pauseMs === 'number' && v.pauseMs > 0 && typeof v.detail === 'string';
}

/** Versions the workflows must never hand a provider: the one rule, narrowed by the provider (its catalogue entry). Null when fine. */
export function versionProblem(target: Target, version: string, entry: ProviderEntry | undefined = findProvider(target.provider)): string | null {
  const general = validateVersion(version);
  if (general) return general;
  return entry?.checkVersion(version) ?? null;
}

export function createProviderActivities(d: ProviderCallDeps & { records: Records }) {
  const { records } = d;
  /** An asynchronous provider's deployment id, recorded on the operation so that its end can be pushed to the workflow. */
  const noteProviderRef = async (started: DeployStarted): Promise<DeployStarted> => {
    if (started.providerRef) await records.recordProviderRef(currentOperationKey(), started.providerRef);
    return started;
  };
  /** Checks that this worker can run the target, that its config is valid, and (when given) that the version suits its provider. */
  const validateTarget = async (target: Target, version?: string): Promise<void> => {
    try {
      await d.providers.prepare(target);
    } catch (err) {
      if (err instanceof ProviderInputError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidTarget');
      throw err;
    }
    const problem = version === undefined ? null : versionProblem(target, version, d.providers.entry(target.provider));
    if (problem) throw ApplicationFailure.nonRetryable(`version ${JSON.stringify(version)} for ${target.fraise}/${target.environment}: ${problem}`, 'InvalidTarget');
  };
  const preflight = async (target: Target): Promise<PreflightReport> => withProvider(d, target, (p, ctx) => p.preflight(ctx));
  return {
    validateTarget,
    preflight,

    /** validateTarget then preflight, in one activity: a deploy's history is shorter by one step. */
    async checkTarget(target: Target, version: string): Promise<PreflightReport> {
      await validateTarget(target, version);
      return preflight(target);
    },

    async deployVersion(target: Target, version: string): Promise<DeployStarted> {
      return noteProviderRef(await withProvider(d, target, (p, ctx) => p.deploy(ctx, version)));
    },

    /** Starts a stopped target again on its recorded release (null: none recorded). */
    async startTarget(target: Target, current: ReleaseData | null): Promise<DeployStarted> {
      return withProvider(d, target, (p, ctx) => p.start(ctx, current));
    },

    async rollbackRelease(target: Target, release: ReleaseData): Promise<DeployStarted> {
      return noteProviderRef(await withProvider(d, target, (p, ctx) => p.rollback(ctx, release)));
    },

    async probeReadiness(target: Target, started: DeployStarted): Promise<Readiness> {
      return withProvider(d, target, (p, ctx) => p.readiness(ctx, started));
    },

    /**
     * Waits, inside this one heartbeating activity, until the provider's asynchronous deployment has ended: looks
     * at it with backoff from 1 s to `maxPauseSeconds`, for at most `timeoutSeconds`. A retry (a dead worker)
     * resumes where the heartbeat details say; a cancellation (the deployment's end was pushed) stops it at once.
     * However long the build, the workflow's history holds this one activity.
     */
    async awaitRelease(target: Target, started: DeployStarted, timeoutSeconds: number, maxPauseSeconds: number): Promise<Readiness> {
      const activity = Context.current();
      const state: AwaitState = isAwaitState(activity.info.heartbeatDetails)
        ? activity.info.heartbeatDetails
        : { since: Date.now(), looks: 0, pauseMs: 1_000, detail: '' };
      for (;;) {
        // Heartbeats carry the wait's state, during a look too, so that a retry always resumes the wait.
        const readiness = await withProvider(d, target, (p, ctx) => p.readiness(ctx, started), () => state);
        state.looks += 1;
        state.detail = readiness.detail;
        if (readiness.state !== 'pending') return readiness;
        if (Date.now() - state.since >= timeoutSeconds * 1_000) {
          return { state: 'failed', detail: `not ready after ${timeoutSeconds}s (${state.looks} looks): ${readiness.detail}` };
        }
        // Slept in slices, each heartbeating, so a dead worker is noticed within the heartbeat timeout.
        for (let slept = 0; slept < state.pauseMs; slept += HEARTBEAT_EVERY_MS) {
          activity.heartbeat(state);
          await activity.sleep(Math.min(HEARTBEAT_EVERY_MS, state.pauseMs - slept));
        }
        state.pauseMs = Math.min(state.pauseMs * 2, maxPauseSeconds * 1_000);
      }
    },

    async probeHealth(target: Target): Promise<HealthReport> {
      return withProvider(d, target, (p, ctx) => p.health(ctx));
    },

    async fetchLogs(target: Target, tail: number): Promise<string> {
      return withProvider(d, target, (p, ctx) => p.logs(ctx, tail));
    },

    async fetchStatus(target: Target): Promise<ServiceStatus> {
      return withProvider(d, target, (p, ctx) => p.status(ctx));
    },

    async stopTarget(target: Target): Promise<void> {
      await withProvider(d, target, (p, ctx) => p.stop(ctx));
    },

    async removeTarget(target: Target): Promise<void> {
      await withProvider(d, target, (p, ctx) => p.remove(ctx));
    },

    /** Stops the provider's own work for a cancelled operation; `started` is null when deploy had not returned. */
    async cancelOperation(target: Target, started: DeployStarted | null): Promise<CancelReport> {
      return withProvider(d, target, (p, ctx) => p.cancel(ctx, started));
    },

    /**
     * Removes the provider's copies of releases that are no longer recorded (old images, release dirs). Kept:
     * every recorded release, which always includes the current and the previous one.
     */
    async pruneProviderReleases(target: Target): Promise<PruneReport> {
      const keep = (await records.listReleases(target)).map((r) => ({ version: r.version, artifact: r.artifact }));
      if (keep.length === 0) return { removed: [], kept: [], detail: 'no release recorded: nothing to prune' };
      return withProvider(d, target, (p, ctx) => p.prune(ctx, keep));
    },
  };
}
