/** What providers report about releases and services: plain JSON, it crosses the workflow/activity boundary. */

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

/** What a provider did to stop its own work when an operation was cancelled. */
export interface CancelReport {
  cancelled: boolean;
  detail: string;
}

/** What provider-side pruning removed and kept. */
export interface PruneReport {
  removed: string[];
  kept: string[];
  detail: string;
}
