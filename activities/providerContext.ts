/**
 * Runs a provider method inside an activity: the target's config parsed once by the provider's schema, a
 * context whose commands never outlive the activity, heartbeats while it runs, progress forwarded, and input
 * errors turned into non-retryable failures.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { findProvider, providerNames, type ProviderEntry } from '../config/providers/index';
import type { TargetKey, Target } from '../domain/target';
import type { Records } from '../db/types';
import type { CommandSpec } from './commandRunner';
import { ProviderInputError, type Provider, type ProviderContext, type ProviderDeps, type ProviderFactory } from './providers/contract';
import { providerImplementations } from './providers/registry';

type AnyProvider = Provider<Record<string, unknown>>;

/** How often a running provider call heartbeats: well inside the workflows' heartbeat timeout (5 s). */
export const HEARTBEAT_EVERY_MS = 1_000;
/** Room kept between a command's end and the activity's, to report the command's failure. */
const DEADLINE_MARGIN_MS = 2_000;

export interface ProviderSource {
  /** The provider of `target` and its parsed config; a ProviderInputError says what is wrong with the target. */
  prepare(target: Target): Promise<{ provider: AnyProvider; config: Record<string, unknown> }>;
  /** The catalogue entry of a provider name: the product's, else an extra provider's (see ExtraProvider). */
  entry(name: string): ProviderEntry | undefined;
}

/**
 * A provider outside the product (an in-process double for a benchmark or a test), handed to one worker: its catalogue
 * entry (config schema, version rule, bounds) and its factory. Never consulted for a name of the product's
 * catalogue, which cannot be replaced this way.
 */
export interface ExtraProvider {
  entry: ProviderEntry;
  factory: ProviderFactory<Record<string, unknown>>;
}

export function createProviderSource(deps: ProviderDeps, extraProviders: Readonly<Record<string, ExtraProvider>> = {}): ProviderSource {
  for (const [name, extra] of Object.entries(extraProviders)) {
    if (findProvider(name)) throw new Error(`extra provider "${name}": a provider of fraisier's own catalogue cannot be replaced`);
    if (extra.entry.name !== name) throw new Error(`extra provider "${name}": its entry is named "${extra.entry.name}"`);
  }
  const extraOf = (name: string): ExtraProvider | undefined => (Object.hasOwn(extraProviders, name) ? extraProviders[name] : undefined);
  const entry = (name: string): ProviderEntry | undefined => findProvider(name) ?? extraOf(name)?.entry;
  const built = new Map<string, Promise<AnyProvider>>();
  const build = async (name: string): Promise<AnyProvider> => {
    const load = findProvider(name) ? providerImplementations[name] : undefined;
    if (load) return (await load())(deps);
    const extra = extraOf(name);
    if (extra) return extra.factory(deps);
    throw new ProviderInputError(`provider "${name}" is not available in this version of fraisier yet`);
  };
  return {
    entry,
    async prepare(target) {
      const found = entry(target.provider);
      if (!found) throw new ProviderInputError(`unknown provider "${target.provider}"; known: ${providerNames.join(', ')}`);
      if (!found.available) {
        throw new ProviderInputError(`provider "${target.provider}" (${target.fraise}/${target.environment}) is not available in this version of fraisier yet`);
      }
      const parsed = found.configSchema.safeParse(target.config);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${['config', ...i.path.map(String)].join('.')}: ${i.message}`);
        throw new ProviderInputError(`invalid ${target.provider} config for ${target.fraise}/${target.environment}: ${issues.join('; ')}`);
      }
      let provider = built.get(target.provider);
      if (!provider) {
        provider = build(target.provider);
        built.set(target.provider, provider);
        provider.catch(() => built.delete(target.provider));
      }
      return { provider: await provider, config: parsed.data };
    },
  };
}

/** When the current activity attempt must be done by: its start-to-close timeout, and its schedule-to-close one if set. */
export function activityDeadline(info: { startToCloseTimeoutMs: number; scheduleToCloseTimeoutMs: number; scheduledTimestampMs: number }, now: number): number {
  let deadline = now + info.startToCloseTimeoutMs;
  if (info.scheduleToCloseTimeoutMs > 0) deadline = Math.min(deadline, info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs);
  return deadline;
}

/** A command's timeout cut to what is left of the activity (less a margin to report its failure); an error when nothing is left. */
export function boundedCommand(command: CommandSpec, deadline: number, now: number, defaultTimeoutMs: number): CommandSpec {
  const left = deadline - now - DEADLINE_MARGIN_MS;
  if (left <= 0) throw new Error(`no time left in this activity to run \`${command.argv.join(' ')}\``);
  return { ...command, timeoutMs: Math.min(command.timeoutMs ?? defaultTimeoutMs, left) };
}

export interface ProviderCallDeps {
  providers: ProviderSource;
  deps: ProviderDeps;
  records: Pick<Records, 'loadTargetState' | 'saveTargetState'>;
  defaultCommandTimeoutMs: number;
}

/** What a provider call heartbeats: its last progress line, and what a retry may resume from. */
export interface ProviderBeat {
  message: string;
  checkpoint?: unknown;
}

/** The checkpoint of the previous attempt's heartbeats, when they were a provider call's. */
export function resumedCheckpoint(details: unknown): unknown {
  return typeof details === 'object' && details !== null && 'message' in details ? (details as ProviderBeat).checkpoint : undefined;
}

export async function withProvider<T>(
  d: ProviderCallDeps,
  target: Target,
  body: (provider: AnyProvider, ctx: ProviderContext<Record<string, unknown>>) => Promise<T>,
  /** Heartbeat details of an activity that keeps its own (awaitRelease), instead of the call's ProviderBeat. */
  ownDetails?: () => unknown,
): Promise<T> {
  const activity = Context.current();
  const deadline = activityDeadline(activity.info, Date.now());
  let lastMessage = '';
  const resumed = ownDetails ? undefined : resumedCheckpoint(activity.info.heartbeatDetails);
  let checkpoint = resumed;
  const details = ownDetails ?? ((): ProviderBeat => ({ message: lastMessage, ...(checkpoint === undefined ? {} : { checkpoint }) }));
  const key: TargetKey = { fraise: target.fraise, environment: target.environment, provider: target.provider };
  const beat = setInterval(() => activity.heartbeat(details()), HEARTBEAT_EVERY_MS);
  try {
    const { provider, config } = await d.providers.prepare(target);
    const ctx: ProviderContext<Record<string, unknown>> = {
      target,
      config,
      signal: activity.cancellationSignal,
      deadline,
      log: (message) => {
        lastMessage = message;
        activity.log.info(message);
        activity.heartbeat(details());
      },
      resumed,
      checkpoint: (value) => {
        checkpoint = value;
        activity.heartbeat(details());
      },
      run: (command) => d.deps.run(boundedCommand(command, deadline, Date.now(), d.defaultCommandTimeoutMs), { signal: activity.cancellationSignal }),
      state: {
        load: () => d.records.loadTargetState(key),
        save: (state) => d.records.saveTargetState(key, state, new Date()),
      },
    };
    return await body(provider, ctx);
  } catch (err) {
    if (err instanceof ProviderInputError) throw ApplicationFailure.nonRetryable(err.message, 'ProviderInputError');
    throw err;
  } finally {
    clearInterval(beat);
  }
}
