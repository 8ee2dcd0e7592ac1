import type { NativeConnectionOptions } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { DEFAULT_TASK_QUEUE } from '../domain/ids';

/** How to reach Temporal, and fraisier's own task queue. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Address, TLS, API key and gRPC metadata, for a client Connection and a worker NativeConnection alike. */
  connection: NativeConnectionOptions & { address: string };
  taskQueue: string;
}

export const DEFAULT_DEV_ADDRESS = '127.0.0.1:7233';

/**
 * Temporal's own settings, read by Temporal's envconfig exactly as its CLI reads them: the TEMPORAL_* variables
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, …,
 * TEMPORAL_GRPC_META_*) over the profile (TEMPORAL_PROFILE) of its config file (TEMPORAL_CONFIG_FILE, default
 * ~/.config/temporalio/temporal.toml). Then FRAISIER_TASK_QUEUE.
 */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const cert = env.TEMPORAL_TLS_CLIENT_CERT_PATH || env.TEMPORAL_TLS_CLIENT_CERT_DATA;
  const key = env.TEMPORAL_TLS_CLIENT_KEY_PATH || env.TEMPORAL_TLS_CLIENT_KEY_DATA;
  // envconfig would drop half a pair silently, and the connection would then fail far from the cause.
  if (Boolean(cert) !== Boolean(key)) {
    throw new Error('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA forms) go together: set both or neither');
  }
  let loaded;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars: definedOnly(env) });
  } catch (err) {
    throw new Error(`the Temporal connection settings cannot be read: ${(err as Error).message}; check the TEMPORAL_* variables and TEMPORAL_CONFIG_FILE`);
  }
  const { connectionOptions } = loaded;
  const address = connectionOptions.address || DEFAULT_DEV_ADDRESS;
  const connection: TemporalSettings['connection'] = { address };
  if (connectionOptions.tls !== undefined) connection.tls = connectionOptions.tls;
  if (connectionOptions.apiKey) connection.apiKey = connectionOptions.apiKey;
  if (connectionOptions.metadata && Object.keys(connectionOptions.metadata).length > 0) connection.metadata = connectionOptions.metadata;
  return {
    address,
    namespace: loaded.namespace || 'default',
    connection,
    taskQueue: env.FRAISIER_TASK_QUEUE || DEFAULT_TASK_QUEUE,
  };
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') out[key] = value;
  return out;
}

/** The same settings pointed at another address (the dev server that `npm start` just started). */
export function withAddress(settings: TemporalSettings, address: string): TemporalSettings {
  return { ...settings, address, connection: { ...settings.connection, address } };
}
