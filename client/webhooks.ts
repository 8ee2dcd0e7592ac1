/**
 * The receiver of Coolify's deployment notifications (its "webhook" channel: unsigned JSON POSTs), a client of
 * Temporal run by `fraisier webhooks serve` and by `npm start`. The path
 * carries a secret token; the body is bounded. A notification naming a deployment that an operation waits on
 * becomes a deploymentEnded signal to that workflow: only a hint, which the workflow confirms with Coolify.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Records } from '../db/types';
import { deploymentEndedSignal } from '../workflows/signals';

export const WEBHOOK_BODY_LIMIT = 64 * 1024;
const DEPLOYMENT_UUID = /^[a-z0-9]{24}$/;

export interface WebhookReceiver {
  /** The URL to give Coolify (its secret included). */
  url: string;
  close(): Promise<void>;
}

export interface WebhookReceiverOptions {
  host: string;
  port: number;
  secret: string;
  records: Pick<Records, 'runningByProviderRef'>;
  client: Client;
  log?: (line: string) => void;
}

/** FRAISIER_WEBHOOK_SECRET, else a secret made once and kept (mode 0600) in the data directory. */
export async function webhookSecret(env: NodeJS.ProcessEnv, dataDir: string): Promise<string> {
  const given = env.FRAISIER_WEBHOOK_SECRET?.trim();
  if (given) {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(given)) throw new Error('FRAISIER_WEBHOOK_SECRET: 16 to 128 letters, digits, "_" or "-" (it goes in a URL path)');
    return given;
  }
  const file = path.join(dataDir, 'webhook-secret');
  const kept = await readFile(file, 'utf8').then((t) => t.trim(), () => '');
  if (kept) return kept;
  await mkdir(dataDir, { recursive: true });
  const made = randomBytes(24).toString('hex');
  await writeFile(file, `${made}\n`, { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await chmod(file, 0o600);
  return (await readFile(file, 'utf8')).trim();
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startWebhookReceiver(o: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const log = o.log ?? (() => undefined);
  const server: Server = createServer((req, res) => {
    const answer = (status: number, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message }));
    };
    const match = /^\/webhooks\/coolify\/([^/?]+)$/.exec(req.url ?? '');
    if (!match?.[1] || !sameSecret(match[1], o.secret)) return answer(404, 'not found');
    if (req.method !== 'POST') return answer(405, 'POST only');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > WEBHOOK_BODY_LIMIT) {
        answer(413, `body over ${WEBHOOK_BODY_LIMIT} bytes`);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      let body: { deployment_uuid?: unknown; event?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return answer(400, 'not JSON');
      }
      const ref = typeof body.deployment_uuid === 'string' && DEPLOYMENT_UUID.test(body.deployment_uuid) ? body.deployment_uuid : undefined;
      if (!ref) return answer(400, 'no deployment_uuid');
      void (async () => {
        const op = await o.records.runningByProviderRef('coolify', ref);
        if (op) {
          await o.client.workflow.getHandle(op.workflowId, op.runId).signal(deploymentEndedSignal, { providerRef: ref });
          log(`webhook: ${String(body.event)} of ${ref} -> signalled ${op.workflowId}`);
        } else {
          log(`webhook: ${String(body.event)} of ${ref}: no operation waits on it`);
        }
        // Accepted either way: Coolify would retry anything else, and an unknown deployment is not an error of Coolify's.
        answer(202, 'accepted');
      })().catch((err: unknown) => {
        log(`webhook: ${ref}: ${(err as Error).message}`);
        answer(503, 'try again');
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/webhooks/coolify/${o.secret}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
