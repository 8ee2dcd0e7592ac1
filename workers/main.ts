/**
 * `npm run worker`: one more worker for an existing cluster (TEMPORAL_ADDRESS) and database (DATABASE_URL),
 * e.g. one per Docker host, each on its own FRAISIER_TASK_QUEUE.
 */
import { Connection } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { fraisierLogger } from './logger';
import { databaseUrl, openRecords } from '../db/connect';
import { prepareNamespace } from './prepareNamespace';
import { PACKAGE_ROOT } from '../config/paths';
import { temporalSettings } from '../config/temporal';
import { createFraisierWorker } from './worker';

async function main(): Promise<void> {
  Runtime.install({ logger: fraisierLogger() });
  const settings = temporalSettings();
  const records = await openRecords(databaseUrl(process.env, PACKAGE_ROOT));
  const connection = await Connection.connect(settings.connection);
  await prepareNamespace(connection, settings);
  await connection.close();
  const { worker, connection: workerConnection } = await createFraisierWorker({ settings, records });
  process.stdout.write(`[fraisier] worker on "${settings.taskQueue}" at ${settings.address}\n`);
  try {
    await worker.run();
  } finally {
    await workerConnection.close();
    await records.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[fraisier] worker cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
