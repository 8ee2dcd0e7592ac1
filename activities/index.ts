/** Every activity a fraisier worker registers. Workflows import the *type* only (FraisierActivities). */
import type { Records } from '../db/types';
import { createProviderActivities } from './providerActivities';
import type { ProviderSource } from './providerContext';
import type { ProviderDeps } from './providers/contract';
import { createReconcileActivities } from './reconcile';
import { createRecordActivities } from './recordActivities';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './runner';

export function createActivities(deps: { records: Records; providers: ProviderSource; providerDeps: ProviderDeps }) {
  const call = { providers: deps.providers, deps: deps.providerDeps, records: deps.records, defaultCommandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS };
  return {
    ...createProviderActivities(call),
    ...createRecordActivities(deps),
    ...createReconcileActivities(deps),
  };
}

export type FraisierActivities = ReturnType<typeof createActivities>;
