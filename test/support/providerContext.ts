/** A ProviderContext as the worker builds one (config parsed by the provider's schema), around a given runner. */
import type { CommandRunner } from '../../activities/commandRunner';
import type { ProviderContext, TargetState } from '../../activities/providers/contract';
import { findProvider } from '../../config/providers/index';
import type { Target } from '../../domain/target';

/** Target state kept in memory, as the records database keeps it. */
export function memoryState(initial?: Record<string, unknown>): TargetState & { current(): Record<string, unknown> | undefined } {
  let value = initial;
  return {
    load: async () => value,
    save: async (state) => {
      value = structuredClone(state);
    },
    current: () => value,
  };
}

export function providerContext<C>(
  target: Target,
  run: CommandRunner,
  options: {
    log?: (line: string) => void;
    state?: TargetState;
    signal?: AbortSignal;
    deadline?: number;
    /** What a previous attempt saved (ctx.resumed). */
    resumed?: unknown;
    /** Receives every checkpoint the call saves, as the heartbeats would carry them. */
    checkpoint?: (value: unknown) => void;
  } = {},
): ProviderContext<C> {
  const entry = findProvider(target.provider);
  if (!entry) throw new Error(`test: unknown provider ${target.provider}`);
  const signal = options.signal ?? new AbortController().signal;
  return {
    target,
    config: entry.configSchema.parse(target.config) as C,
    log: options.log ?? (() => undefined),
    signal,
    deadline: options.deadline ?? Date.now() + 3_600_000,
    run: (command) => run(command, { signal }),
    state: options.state ?? memoryState(),
    resumed: options.resumed,
    checkpoint: (value) => options.checkpoint?.(structuredClone(value)),
  };
}
