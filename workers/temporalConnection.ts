import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

/** How to reach Temporal, from the environment variables Temporal's own CLI uses. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  taskQueue: string;
}

export const DEFAULT_DEV_ADDRESS = '127.0.0.1:7233';

function readPem(env: NodeJS.ProcessEnv, pathVar: string, dataVar: string): Buffer | undefined {
  const data = env[dataVar];
  if (data) return Buffer.from(data);
  const path = env[pathVar];
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${pathVar}=${path}: cannot read it (${(err as Error).message}); point ${pathVar} at a readable PEM file`);
  }
}

/**
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH /
 * TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA), TEMPORAL_TLS_SERVER_CA_CERT_PATH (or _DATA),
 * TEMPORAL_TLS_SERVER_NAME, and FRAISIER_TASK_QUEUE.
 */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const cert = readPem(env, 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA');
  const key = readPem(env, 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA');
  const ca = readPem(env, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA');
  if ((cert && !key) || (key && !cert)) {
    throw new Error('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both or neither');
  }
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const tlsWanted = env.TEMPORAL_TLS === 'true' || env.TEMPORAL_TLS === '1' || Boolean(cert || ca || apiKey);
  let tls: TemporalSettings['tls'];
  if (tlsWanted) {
    tls = {
      ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
    };
  }
  if (env.TEMPORAL_TLS === 'false' || env.TEMPORAL_TLS === '0') tls = undefined;
  return {
    address: env.TEMPORAL_ADDRESS || DEFAULT_DEV_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    ...(tls !== undefined ? { tls } : {}),
    ...(apiKey ? { apiKey } : {}),
    taskQueue: env.FRAISIER_TASK_QUEUE || 'fraisier',
  };
}

/** Web UI link of a workflow; FRAISIER_UI_URL overrides the dev server's default. */
export function workflowUiUrl(namespace: string, workflowId: string, runId?: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = (env.FRAISIER_UI_URL || env.TEMPORAL_UI_URL || 'http://127.0.0.1:8233').replace(/\/+$/, '');
  const id = encodeURIComponent(workflowId);
  return runId ? `${base}/namespaces/${namespace}/workflows/${id}/${runId}/history` : `${base}/namespaces/${namespace}/workflows/${id}`;
}

/** The connection options of `settings`, for a client Connection and a worker NativeConnection alike. */
export function connectionOptions(settings: TemporalSettings): Pick<TemporalSettings, 'address' | 'tls' | 'apiKey'> {
  return {
    address: settings.address,
    ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  };
}
