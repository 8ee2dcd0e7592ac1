import { Client, Connection } from '@temporalio/client';
import { temporalSettings, type TemporalSettings } from '../config/temporal';
import { CliError, EXIT } from './exitCodes';

export interface ConnectedClient {
  client: Client;
  settings: TemporalSettings;
  close(): Promise<void>;
}

/** Connects to Temporal or fails with exit code 2 and what to do about it. */
export async function connectTemporal(env: NodeJS.ProcessEnv = process.env): Promise<ConnectedClient> {
  let settings: TemporalSettings;
  try {
    settings = temporalSettings(env);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.badInput);
  }
  try {
    const connection = await Connection.connect({ ...settings.connection, connectTimeout: 5_000 });
    await connection.workflowService.describeNamespace({ namespace: settings.namespace });
    return { client: new Client({ connection, namespace: settings.namespace }), settings, close: () => connection.close() };
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${settings.address} (namespace ${settings.namespace}): ${(err as Error).message}. ` +
        'Start it with "npm start", or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TLS or API key settings) to your cluster.',
      EXIT.badInput,
    );
  }
}
