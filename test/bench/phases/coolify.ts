/**
 * Phase 5: Coolify deploys against the contract-validated double, with and without its webhook: how soon the end of
 * a build is seen, how many API calls one deploy costs, and how many history events, for short and long builds.
 * The double's clock runs `speed` times faster than real time: its builds of minutes take seconds here, while
 * fraisier's own waiting (backoff up to poll_max_interval) runs in real time.
 */
import { Agent } from 'undici';
import { createCommandRunner } from '../../../activities/runner';
import { startWebhookReceiver } from '../../../client/webhooks';
import { temporalSettings } from '../../../config/temporal';
import type { Target } from '../../../domain/target';
import { createFraisierWorker } from '../../../workers/worker';
import { loadContract } from '../../coolifyDouble/contract';
import { startCoolifyDouble } from '../../coolifyDouble/server';
import { startDeployUnderLock } from '../../support/deploys';
import type { Env } from '../env';
import { heading, ms, printTable, stats } from '../report';

const TOKEN = 'bench-token';
const SPEED = 10;

export async function benchCoolify(env: Env): Promise<void> {
  const { opts, client } = env;
  const n = Math.max(3, Math.min(20, opts.deploys));
  heading(`5. coolify: ${n} deploys with the webhook and ${n} without (poll_max_interval 10s), builds of 60 s on the double's clock (x${SPEED}); history events for 10 s and 10 min builds`);
  const double = await startCoolifyDouble({ contract: await loadContract(), tokens: { [TOKEN]: ['read', 'write', 'deploy', 'read:sensitive'] }, speed: SPEED });
  const receiver = await startWebhookReceiver({ host: '127.0.0.1', port: 0, secret: 'bench-webhook-secret-0123456789', records: env.workerRecords, client });
  const http = new Agent();
  const queue = `${env.taskQueue}-coolify`;
  const { worker, connection } = await createFraisierWorker({
    settings: temporalSettings({ TEMPORAL_ADDRESS: env.temporalAddress, FRAISIER_TASK_QUEUE: queue }),
    records: env.workerRecords,
    providerDeps: { run: createCommandRunner(), http, env: { COOLIFY_API_TOKEN: TOKEN } },
  });
  const running = worker.run();
  try {
    const app = double.model.addApp({ name: 'bench', buildMs: 60_000 });
    const target: Target = {
      fraise: `coolify${process.pid}`,
      environment: 'bench',
      provider: 'coolify',
      config: { coolify_url: double.url, application_uuid: app.uuid, token_env: 'COOLIFY_API_TOKEN', force: false },
      retain: 5,
      bounds: { changeSeconds: 600, readySeconds: 1_200, pollMaxSeconds: 10 },
    };
    let version = 0;
    const deployOnce = async (): Promise<{ seenMs: number; calls: number; events: number }> => {
      version += 1;
      const before = double.log.length;
      const handle = await startDeployUnderLock(client, target, `b${version}`, 'bench', queue);
      await handle.result();
      const d = double.model.deployments.filter((x) => x.app === app).at(-1);
      const [row] = await env.workerRecords.history({ fraise: target.fraise, environment: 'bench' }, 1);
      const events = (await handle.fetchHistory()).events?.length ?? 0;
      // The workflow's record of the end against Coolify's: how long fraisier took to see it.
      return { seenMs: (row?.finishedAt?.getTime() ?? NaN) - (d?.finishedAt?.getTime() ?? NaN), calls: double.log.length - before, events };
    };
    const rows: string[][] = [];
    for (const mode of ['webhook', 'no webhook'] as const) {
      double.setWebhook(mode === 'webhook' ? receiver.url : null);
      const runs = [];
      for (let i = 0; i < n; i++) runs.push(await deployOnce());
      const seen = stats(runs.map((r) => r.seenMs));
      const calls = stats(runs.map((r) => r.calls));
      const events = stats(runs.map((r) => r.events));
      rows.push([mode, ms(seen.median), ms(seen.p95), ms(seen.max), String(calls.median), String(calls.max), String(events.median), String(events.max)]);
    }
    printTable(['60 s build', 'end seen p50 ms', 'p95', 'max', 'API calls/deploy p50', 'max', 'history events p50', 'max'], rows);
    const longRows: string[][] = [];
    double.setWebhook(null);
    for (const [label, buildMs] of [['10 s build', 10_000], ['10 min build', 600_000]] as const) {
      app.buildMs = buildMs;
      const r = await deployOnce();
      longRows.push([label, `${(buildMs / SPEED / 1000).toFixed(0)} s`, String(r.events), String(r.calls)]);
    }
    printTable(['no webhook', 'real time', 'history events', 'API calls'], longRows);
    console.log('  (API calls: every request the double received during one deploy, pre-flight included; the old system polled every 10 s)');
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
    await receiver.close();
    await double.close();
    await http.close();
  }
}
