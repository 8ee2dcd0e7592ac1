/**
 * `npm start`: the whole of fraisier on one machine. A Temporal dev server (state in .data/temporal.db, Web UI
 * on 8233) unless TEMPORAL_ADDRESS names a cluster; the embedded PGlite database unless DATABASE_URL is set;
 * a worker; the hourly cleanup schedule. Ctrl-C stops everything in order.
 */
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startWebhookReceiver, webhookSecret } from '../client/webhooks';
import { Runtime } from '@temporalio/worker';
import { fraisierLogger } from './logger';
import { openRecords } from '../db/connect';
import { DEFAULT_PGLITE_DIR, startEmbeddedDatabase, type EmbeddedDatabase } from '../db/embedded';
import { startDevServer, type DevServer } from './devServer';
import { prepareNamespace } from './prepareNamespace';
import { dataDir, PACKAGE_ROOT } from '../config/paths';
import { temporalSettings, withAddress } from '../config/temporal';
import { createFraisierWorker } from './worker';

const DATA_DIR = dataDir();
const stops: Array<{ what: string; stop: () => Promise<void> }> = [];

function say(line: string): void {
  process.stdout.write(`[fraisier] ${line}\n`);
}

async function stopAll(): Promise<void> {
  for (const { what, stop } of stops.reverse()) {
    try {
      await stop();
      say(`stopped ${what}`);
    } catch (err) {
      say(`stopping ${what} failed: ${(err as Error).message}`);
    }
  }
}

async function main(): Promise<void> {
  Runtime.install({ logger: fraisierLogger() });
  let settings = temporalSettings();
  let devServer: DevServer | undefined;
  if (!process.env.TEMPORAL_ADDRESS) {
    say('starting the Temporal dev server (state in .data/temporal.db)…');
    devServer = await startDevServer({
      dbFile: resolve(DATA_DIR, 'temporal.db'),
      port: Number(process.env.FRAISIER_TEMPORAL_PORT ?? 7233),
      uiPort: Number(process.env.FRAISIER_UI_PORT ?? 8233),
      namespace: settings.namespace,
      logFile: resolve(DATA_DIR, 'temporal.log'),
    });
    stops.push({ what: 'Temporal dev server', stop: devServer.stop });
    settings = withAddress(settings, devServer.address);
  }

  const connection = await Connection.connect(settings.connection);
  stops.push({ what: 'Temporal client', stop: () => connection.close() });

  let databaseUrl = process.env.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (!databaseUrl) {
    embedded = await startEmbeddedDatabase({
      dataDir: resolve(PACKAGE_ROOT, process.env.FRAISIER_PGLITE_DIR ?? DEFAULT_PGLITE_DIR),
      port: Number(process.env.FRAISIER_PGLITE_PORT ?? 0),
    });
    stops.push({ what: 'embedded database', stop: embedded.stop });
    databaseUrl = embedded.url;
    say(`embedded PGlite database at ${embedded.url} (URL in ${embedded.urlFile})`);
  }
  const records = await openRecords(databaseUrl);
  stops.push({ what: 'records', stop: () => records.close() });

  // The dev server has the search attributes already (by flag); a cluster of the user's may not.
  const { addedSearchAttributes, schedule } = await prepareNamespace(connection, settings);
  if (addedSearchAttributes.length > 0) say(`registered search attributes: ${addedSearchAttributes.join(', ')}`);
  say(`hourly cleanup schedule ${schedule === 'created' ? 'created' : 'already present'}`);

  const { worker, connection: workerConnection } = await createFraisierWorker({ settings, records });
  const running = worker.run();
  stops.push({ what: 'worker connection', stop: () => workerConnection.close() });
  say(`worker polling task queue "${settings.taskQueue}" on ${settings.address}, namespace ${settings.namespace}`);
  const receiver = await startWebhookReceiver({
    host: process.env.FRAISIER_WEBHOOK_HOST ?? '127.0.0.1',
    port: Number(process.env.FRAISIER_WEBHOOK_PORT ?? 8766),
    secret: await webhookSecret(process.env, DATA_DIR),
    records,
    client: new Client({ connection, namespace: settings.namespace }),
    log: say,
  });
  stops.push({ what: 'webhook receiver', stop: receiver.close });
  say(`Coolify webhook URL (Notifications > Webhook in Coolify): ${receiver.url}`);
  if (devServer?.uiUrl) say(`Temporal Web UI: ${devServer.uiUrl}/namespaces/${settings.namespace}/workflows`);
  say('ready. Ctrl-C stops everything.');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: draining the worker…`);
    worker.shutdown();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    await running;
  } finally {
    await stopAll();
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`[fraisier] cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(2);
});
