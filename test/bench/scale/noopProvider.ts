/**
 * The bench's in-process provider: every call returns at once (a deploy is a release, readiness is ready, health is
 * ok, nothing to prune), so what the scale phase measures is fraisier's own cost: Temporal, the worker, the records.
 * Handed to the bench's worker only (createFraisierWorker's extraProviders), never in the product's catalogue.
 */
import { z } from 'zod';
import type { ExtraProvider } from '../../../activities/providerContext';
import type { Provider } from '../../../activities/providers/contract';
import type { ProviderEntry } from '../../../config/providers/index';
import type { Target } from '../../../domain/target';

export const NOOP_PROVIDER = 'bench_noop';

const entry: ProviderEntry = {
  name: NOOP_PROVIDER,
  description: 'Bench only: an in-process provider whose every call returns at once.',
  available: true,
  configSchema: z.object({}),
  pathKeys: [],
  checkVersion: () => null,
  bounds: { changeSeconds: 60, readySeconds: 60 },
  healthFromServer: false,
};

/** Counts what cleanup asks of the provider, so the bench can see how many targets are being cleaned at once. */
export interface NoopCounters {
  /** Targets whose cleanup has started (their stop was called). */
  stops: number;
  removes: number;
}

export function noopProvider(): { extra: ExtraProvider; counters: NoopCounters } {
  const counters: NoopCounters = { stops: 0, removes: 0 };
  const provider: Provider<Record<string, unknown>> = {
    name: NOOP_PROVIDER,
    preflight: async () => ({ ok: true, checks: [{ name: 'noop', ok: true, detail: 'in-process, nothing to check' }] }),
    deploy: async (_ctx, version) => ({ version, release: { version, artifact: { noop: version } } }),
    readiness: async (_ctx, started) => ({ state: 'ready', detail: `${started.version} is up (noop)` }),
    health: async () => ({ ok: true, detail: 'nothing to check (noop)', source: 'none' }),
    status: async () => ({ state: 'running', detail: 'noop' }),
    logs: async () => '',
    rollback: async (_ctx, release) => ({ version: release.version, release }),
    cancel: async () => ({ cancelled: false, detail: 'nothing to cancel (noop)' }),
    prune: async (_ctx, keep) => ({ removed: [], kept: keep.map((r) => r.version), detail: 'nothing to prune (noop)' }),
    stop: async () => {
      counters.stops += 1;
    },
    start: async (_ctx, current) => {
      const version = current?.version ?? 'none';
      return { version, release: current ?? { version, artifact: {} } };
    },
    remove: async () => {
      counters.removes += 1;
    },
  };
  return { extra: { entry, factory: () => provider }, counters };
}

/** A target of the no-op provider, built directly (no fraises.yaml). */
export function noopTarget(fraise: string, environment: string): Target {
  return { fraise, environment, provider: NOOP_PROVIDER, config: {}, retain: 2, bounds: entry.bounds };
}
