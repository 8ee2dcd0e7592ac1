import type { Provider, ProviderDeps, Target } from './providers/contract';
import { findProvider, providerNames } from './providers/registry';

/** Builds each provider once per worker, on first use, and checks targets against the registry. */
export interface ProviderSource {
  get(name: string): Promise<Provider>;
  /** A message saying what is wrong with the target, or undefined when the worker can run it. */
  validate(target: Target): Promise<string | undefined>;
}

export function createProviderSource(deps: ProviderDeps): ProviderSource {
  const built = new Map<string, Promise<Provider>>();

  async function build(name: string): Promise<Provider> {
    const entry = findProvider(name);
    if (!entry) throw new Error(`unknown provider "${name}"; known: ${providerNames.join(', ')}`);
    if (!entry.available || !entry.load) {
      throw new Error(`provider "${name}" is not available in this version of fraisier yet`);
    }
    const create = await entry.load();
    return create(deps);
  }

  return {
    get(name) {
      let provider = built.get(name);
      if (!provider) {
        provider = build(name);
        built.set(name, provider);
        provider.catch(() => built.delete(name));
      }
      return provider;
    },
    async validate(target) {
      const entry = findProvider(target.provider);
      if (!entry) return `unknown provider "${target.provider}"; known: ${providerNames.join(', ')}`;
      if (!entry.available) {
        return `provider "${target.provider}" (${target.fraise}/${target.environment}) is not available in this version of fraisier yet`;
      }
      const parsed = entry.configSchema.safeParse(target.config);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${['config', ...i.path.map(String)].join('.')}: ${i.message}`);
        return `invalid ${target.provider} config for ${target.fraise}/${target.environment}: ${issues.join('; ')}`;
      }
      return undefined;
    },
  };
}
