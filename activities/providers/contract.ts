/**
 * The contract every provider implements. Workflows never see a provider: they call the generic activities in
 * `activities/providerActivities.ts`, which parse the target's config with the provider's schema (config/providers/),
 * build a ProviderContext, and call the provider. What providers return is plain JSON (domain/release.ts).
 */
import type { Dispatcher } from 'undici';
import type {
  CancelReport,
  DeployStarted,
  HealthReport,
  PreflightReport,
  PruneReport,
  Readiness,
  ReleaseData,
  ServiceStatus,
} from '../../domain/release';
import type { Target } from '../../domain/target';
import type { CommandResult, CommandRunner, CommandSpec } from '../commandRunner';

/** State a provider keeps per target between runs (e.g. the Coolify application a target is bound to), in the records database. */
export interface TargetState {
  load(): Promise<Record<string, unknown> | undefined>;
  /** Replaces the target's state; idempotent. */
  save(state: Record<string, unknown>): Promise<void>;
}

export interface ProviderContext<C> {
  target: Target;
  /** The target's config, parsed once by the provider's schema for this activity. */
  config: C;
  /** Progress for long operations; activities turn it into heartbeats and log lines. */
  log(message: string): void;
  /** Aborted when the activity is cancelled or times out. */
  signal: AbortSignal;
  /** When this activity's time is up (ms since the epoch): nothing the provider starts may outlive it. */
  deadline: number;
  /** Runs a command, its timeout cut to the activity's remaining time, cancelled with the activity. */
  run(command: CommandSpec): Promise<CommandResult>;
  state: TargetState;
  /** What the previous attempt of this activity saved with `checkpoint` (undefined on a first attempt). */
  resumed: unknown;
  /** Saves how far this call got (sent with its heartbeats, plain JSON): a retry after a fault resumes from it. */
  checkpoint(value: unknown): void;
}

export interface Provider<C> {
  readonly name: string;
  /** Checks that the target can be reached and is configured right, without changing anything. */
  preflight(ctx: ProviderContext<C>): Promise<PreflightReport>;
  /** Makes `version` the running release (or queues it). Must back up whatever it changes first. */
  deploy(ctx: ProviderContext<C>, version: string): Promise<DeployStarted>;
  /** One probe, no waiting: is the release started by deploy/rollback up? */
  readiness(ctx: ProviderContext<C>, started: DeployStarted): Promise<Readiness>;
  /** One probe of the service's health (its own health signal, else the configured check). */
  health(ctx: ProviderContext<C>): Promise<HealthReport>;
  status(ctx: ProviderContext<C>): Promise<ServiceStatus>;
  logs(ctx: ProviderContext<C>, tail: number): Promise<string>;
  /** Puts a recorded release back, without rebuilding it. */
  rollback(ctx: ProviderContext<C>, release: ReleaseData): Promise<DeployStarted>;
  /**
   * Stops the provider's own work for an operation that is being cancelled (a queued build, say). `started`
   * is null when the cancellation came before deploy/rollback returned. Idempotent.
   */
  cancel(ctx: ProviderContext<C>, started: DeployStarted | null): Promise<CancelReport>;
  /** Removes the provider's copies of releases (old images, release dirs) that are not in `keep`. Never one in `keep`. */
  prune(ctx: ProviderContext<C>, keep: ReleaseData[]): Promise<PruneReport>;
  /** Stops the service, and returns once it has stopped (asynchronous providers are waited for). Idempotent. */
  stop(ctx: ProviderContext<C>): Promise<void>;
  /**
   * Starts again what stop stopped: `current` is the recorded release (null when none is). Returns like deploy:
   * the workflow then waits for readiness and health. Asynchronous providers return their deployment id.
   */
  start(ctx: ProviderContext<C>, current: ReleaseData | null): Promise<DeployStarted>;
  /** Removes what was deployed (containers, app, release dirs); used by cleanup. Idempotent. */
  remove(ctx: ProviderContext<C>): Promise<void>;
}

/** Raised by providers for failures that retrying will not fix (bad config, missing file, refused credentials). */
export class ProviderInputError extends Error {
  override readonly name = 'ProviderInputError';
}

/** What the worker hands a provider when it builds it; tests hand real ones pointed at local servers. */
export interface ProviderDeps {
  run: CommandRunner;
  /** undici's pooled HTTP client (an Agent). */
  http: Dispatcher;
  /** The worker's environment, where tokens are read (never from the target, never from history). */
  env: Readonly<Record<string, string | undefined>>;
}

export type ProviderFactory<C> = (deps: ProviderDeps) => Provider<C>;
