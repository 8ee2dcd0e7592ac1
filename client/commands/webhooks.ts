import { dataDir, PACKAGE_ROOT } from '../../config/paths';
import { databaseUrl, openRecords } from '../../db/connect';
import type { Output } from '../cli';
import { CliError, EXIT } from '../exitCodes';
import { connectTemporal } from '../temporalClient';
import { startWebhookReceiver, webhookSecret } from '../webhooks';

/** `fraisier webhooks serve`: receives Coolify's deployment notifications until Ctrl-C. */
export async function runWebhooksServe(out: Output, opts: { host: string; port: string }): Promise<number> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port ${opts.port}: a port from 0 to 65535`, EXIT.badInput);
  const temporal = await connectTemporal();
  let records;
  try {
    records = await openRecords(databaseUrl(process.env, PACKAGE_ROOT));
  } catch (err) {
    await temporal.close();
    throw new CliError(`cannot open the records database: ${(err as Error).message}`, EXIT.badInput);
  }
  try {
    const secret = await webhookSecret(process.env, dataDir());
    const receiver = await startWebhookReceiver({ host: opts.host, port, secret, records, client: temporal.client, log: (line) => out.progress(line) });
    out.info(`Coolify webhook URL (Notifications > Webhook in Coolify): ${receiver.url}`);
    await new Promise<void>((resolveStop) => {
      process.once('SIGINT', () => resolveStop());
      process.once('SIGTERM', () => resolveStop());
    });
    await receiver.close();
    return EXIT.ok;
  } finally {
    await records.close();
    await temporal.close();
  }
}
