import type { ProviderFactory } from './contract';

/**
 * The implementations, by the name of their catalogue entry (config/providers/index.ts), loaded lazily so that
 * reading the config never pulls a provider's dependencies in. Each factory's config type is the output of
 * that entry's schema, which parses the target's config before any provider method is called.
 */
export const providerImplementations: Readonly<Record<string, () => Promise<ProviderFactory<Record<string, unknown>>>>> = {
  docker_compose: async () => (await import('./docker_compose/index')).createDockerComposeProvider,
  coolify: async () => (await import('./coolify/index')).createCoolifyProvider,
  bare_metal: async () => (await import('./bare_metal/index')).createBareMetalProvider,
};
