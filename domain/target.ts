/**
 * What a deploy target is. Resolved from fraises.yaml by the client, sent to the workflows as plain JSON,
 * handed to the worker's provider: everything here crosses the workflow/activity boundary.
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
      /** Text the response body must contain (a substring match); absent: the status alone decides. */
      bodyContains?: string;
      /**
       * `server`: the probe runs on the deploy target's own server (an app on its loopback), which only a provider
       * that runs commands there can do. Absent: from the worker (never written, so recorded targets stay as they were).
       */
      from?: 'server';
      /** How long the deploy keeps probing before it declares the release unhealthy. */
      timeoutSeconds: number;
      /** Pause between two probes. */
      intervalSeconds: number;
    }
  | {
      type: 'tcp';
      host: string;
      port: number;
      /** As for http: `server` probes from the target's own server; absent, from the worker. */
      from?: 'server';
      timeoutSeconds: number;
      intervalSeconds: number;
    };

/** Identifies a deploy target: the lock and the records are keyed on it. */
export interface TargetKey {
  fraise: string;
  environment: string;
  provider: string;
}

/** How long the steps on a target may take, in seconds: the provider's defaults, or the environment's own. */
export interface TargetBounds {
  /** One change on the target (deploy, rollback, stop, remove, prune): the activity's start-to-close timeout. */
  changeSeconds: number;
  /** Waiting for a release to come up after the change. */
  readySeconds: number;
  /** Longest pause between two looks at an asynchronous deployment (backoff from 1 s) when no notification says it ended. */
  pollMaxSeconds?: number;
}

/** A fully validated deploy target, resolved from fraises.yaml by the client before anything starts. */
export interface Target extends TargetKey {
  /**
   * The provider's configuration as the client validated it (defaults filled in), with every path it names
   * made absolute. Paths are read on the worker's machine: see the README, "Workers on other machines".
   */
  config: Record<string, unknown>;
  healthCheck?: HealthCheckConfig;
  /** How many releases to keep for rollback. */
  retain: number;
  /** The task queue of the workers that can reach this target (e.g. one per Docker host); the default queue when absent. */
  taskQueue?: string;
  /** Absent in targets recorded before bounds existed: the workflows then use DEFAULT_BOUNDS. */
  bounds?: TargetBounds;
}

/** Used when neither the provider nor the environment says otherwise. */
export const DEFAULT_BOUNDS: TargetBounds = { changeSeconds: 20 * 60, readySeconds: 5 * 60 };

export const DEFAULT_POLL_MAX_SECONDS = 10;

/** `my_api/staging (docker_compose)`, for messages. */
export function describeTarget(target: TargetKey): string {
  return `${target.fraise}/${target.environment} (${target.provider})`;
}
