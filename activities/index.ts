/** Every activity a fraisier worker registers. Workflows import the *type* only (FraisierActivities). */
import type { Records } from '../db/types';
import { dataDir } from '../config/paths';
import { createCoolifyProjectBackend } from './projects/backends/coolify/index';
import { createLocalBackend } from './projects/backends/local/index';
import { createProjectActivities } from './projects/activities';
import { createProviderActivities } from './providerActivities';
import type { ProviderSource } from './providerContext';
import type { ProviderDeps } from './providers/contract';
import { createReconcileActivities } from './reconcile';
import { createRecordActivities } from './recordActivities';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './runner';

export function createActivities(deps: { records: Records; providers: ProviderSource; providerDeps: ProviderDeps; dataDir?: string }) {
  const call = { providers: deps.providers, deps: deps.providerDeps, records: deps.records, defaultCommandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS };
  const dir = deps.dataDir ?? dataDir(deps.providerDeps.env);
  return {
    ...createProviderActivities(call),
    ...createProjectActivities({
      projects: deps.records.projects,
      backends: {
        local: createLocalBackend({ dataDir: dir }),
        coolify: createCoolifyProjectBackend({ http: deps.providerDeps.http, env: deps.providerDeps.env }),
      },
      run: deps.providerDeps.run,
      http: deps.providerDeps.http,
      env: deps.providerDeps.env,
      dataDir: dir,
    }),
    ...createRecordActivities(deps),
    ...createReconcileActivities(deps),
  };
}

export type FraisierActivities = ReturnType<typeof createActivities>;
