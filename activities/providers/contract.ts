/**
 * The contract every provider implements. Workflows never see a provider: they call the generic
 * activities in `activities/operations.ts`, which look the provider up by `target.provider` in the
 * registry. Everything here crosses the workflow/activity boundary, so it is plain JSON data.
 */

/** A health check a deploy waits for, when the provider has no health signal of its own. */
export type HealthCheckConfig =
  | {
      type: 'http';
      /** Full URL (http/https). When absent, `http://{host}:{port}{path}` is used. */
      url?: string;
      host: string;
      port?: number;
      path: string;
      expectedStatus: number;
      /** How long the deploy keeps probing before it declares the release unhealthy. */
      timeoutSeconds: number;
      /** Pause between two probes. */
      intervalSeconds: number;
    }
  | {
      type: 'tcp';
      host: string;
      port: number;
      timeoutSeconds: number;
      intervalSeconds: number;
    };

/** Identifies a deploy target: the lock and the records are keyed on it. */
export interface TargetKey {
  fraise: string;
  environment: string;
  provider: string;
}

/** A fully validated deploy target, resolved from fraises.yaml by the client before anything starts. */
export interface Target extends TargetKey {
  /** Provider-specific configuration, validated by the provider's config schema. */
  config: Record<string, unknown>;
  healthCheck?: HealthCheckConfig;
  /** How many releases to keep for rollback. */
  retain: number;
  /** Absolute directory of the fraises.yaml this target came from; relative paths resolve against it. */
  configDir: string;
  /** The task queue of the workers that can reach this target (e.g. one per Docker host); the default queue when absent. */
  taskQueue?: string;
}

/** What a provider needs to put a release back without rebuilding it. */
export interface ReleaseData {
  version: string;
  /** Provider-specific, e.g. { image: 'app:v1', imageId: 'sha256:…' } or { releaseDir: '/var/app/releases/v1' }. */
  artifact: Record<string, string>;
}

/** Returned by deploy and rollback: the change was made (or queued, for asynchronous providers). */
export interface DeployStarted {
  version: string;
  /** The provider's own identifier of an asynchronous deployment (e.g. a Coolify deployment uuid). */
  providerRef?: string;
  /** What rollback to this release needs. */
  release: ReleaseData;
  /** What ran before, when the provider could tell. */
  previous?: ReleaseData;
  url?: string;
}

/** One quick probe of "is the new release up yet"; the workflow waits between probes with durable timers. */
export type Readiness =
  | { state: 'ready'; detail: string; url?: string }
  | { state: 'pending'; detail: string }
  | { state: 'failed'; detail: string };

export interface HealthReport {
  ok: boolean;
  detail: string;
  /** Where the verdict came from: the container's own HEALTHCHECK, the configured check, the provider, or nothing to check. */
  source: 'container' | 'http' | 'tcp' | 'provider' | 'none';
}

export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface PreflightReport {
  ok: boolean;
  checks: PreflightCheck[];
}

export interface ServiceStatus {
  state: 'running' | 'starting' | 'unhealthy' | 'stopped' | 'absent' | 'unknown';
  version?: string;
  detail: string;
  url?: string;
}

export interface ProviderContext {
  target: Target;
  /** Progress for long operations; activities turn it into heartbeats. */
  log(message: string): void;
  /** Aborted when the activity is cancelled or times out. */
  signal: AbortSignal;
}

export interface Provider {
  readonly name: string;
  /** Checks that the target can be reached and is configured right, without changing anything. */
  preflight(ctx: ProviderContext): Promise<PreflightReport>;
  /** Makes `version` the running release (or queues it). Must back up whatever it changes first. */
  deploy(ctx: ProviderContext, version: string): Promise<DeployStarted>;
  /** One probe, no waiting: is the release started by deploy/rollback up? */
  readiness(ctx: ProviderContext, started: DeployStarted): Promise<Readiness>;
  /** One probe of the service's health (its own health signal, else the configured check). */
  health(ctx: ProviderContext): Promise<HealthReport>;
  status(ctx: ProviderContext): Promise<ServiceStatus>;
  logs(ctx: ProviderContext, tail: number): Promise<string>;
  /** Puts a recorded release back, without rebuilding it. */
  rollback(ctx: ProviderContext, release: ReleaseData): Promise<DeployStarted>;
  start(ctx: ProviderContext): Promise<void>;
  stop(ctx: ProviderContext): Promise<void>;
  /** Removes what was deployed (containers, app, release dirs); used by cleanup. Idempotent. */
  remove(ctx: ProviderContext): Promise<void>;
}

/** Raised by providers for failures that retrying will not fix (bad config, missing file, refused credentials). */
export class ProviderInputError extends Error {
  override readonly name = 'ProviderInputError';
}

/** What the worker hands a provider when it builds it. */
export interface ProviderDeps {
  run: import('../commandRunner').CommandRunner;
}
