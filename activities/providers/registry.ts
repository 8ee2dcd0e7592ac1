import type { z } from 'zod';
import type { Provider, ProviderDeps } from './contract';
import { bareMetalConfigSchema } from './bare_metal/config';
import { coolifyConfigSchema } from './coolify/config';
import { dockerComposeConfigSchema } from './docker_compose/config';

export interface ProviderEntry {
  name: string;
  description: string;
  /** False while the provider's implementation has not landed: its config validates, operations are refused. */
  available: boolean;
  configSchema: z.ZodType<Record<string, unknown>>;
  /** Loaded lazily so that reading the config never pulls a provider's dependencies in. */
  load?: () => Promise<(deps: ProviderDeps) => Provider>;
}

export const providerRegistry: readonly ProviderEntry[] = [
  {
    name: 'docker_compose',
    description: 'Docker Compose service on a Docker host (v2 plugin, falls back to docker-compose v1).',
    available: true,
    configSchema: dockerComposeConfigSchema,
    load: async () => (await import('./docker_compose/index')).createDockerComposeProvider,
  },
  {
    name: 'coolify',
    description: 'Application on a Coolify v4 instance, through its HTTP API (asynchronous deployments).',
    available: false,
    configSchema: coolifyConfigSchema,
  },
  {
    name: 'bare_metal',
    description: 'Release directories on a server over SSH, switched by a symlink, run by a service manager.',
    available: false,
    configSchema: bareMetalConfigSchema,
  },
];

export const providerNames = providerRegistry.map((p) => p.name);

export function findProvider(name: string): ProviderEntry | undefined {
  return providerRegistry.find((p) => p.name === name);
}
