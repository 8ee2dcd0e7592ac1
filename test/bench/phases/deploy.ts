/** Phase 1: deploy latency end to end, broken down from each run's history. */
import path from 'node:path';
import { loadConfig } from '../../../config/load';
import { resolveTarget } from '../../../config/resolve';
import { lockWorkflowId } from '../../../domain/ids';
import type { DeployInput } from '../../../domain/operations';
import { deploy } from '../../../workflows/deploy';
import { operationSearchAttributes } from '../../../workflows/searchAttributes';
import type { Env } from '../env';
import { activityCount, activityMs, historyBreakdown, type HistoryBreakdown } from '../history';
import { heading, ms, now, percentile, printTable, run, stats } from '../report';

export async function benchDeploys(env: Env): Promise<void> {
  const { opts, client, taskQueue } = env;
  heading(`1. deploy latency: ${opts.deploys} sequential deploys (v1/v2 alternating), Temporal + worker + Compose + HTTP health check`);
  const config = await loadConfig(env.configFile);
  const target = resolveTarget(config, 'shop', 'staging');
  const rows: string[][] = [];
  const wall: number[] = [];
  const breakdowns: HistoryBreakdown[] = [];
  for (let i = 0; i < opts.deploys; i++) {
    const version = i % 2 === 0 ? 'v1' : 'v2';
    const requestedBy = `bench-${i}`;
    const input: DeployInput = { target, version, requestedBy, ttlSeconds: null, readyTimeoutSeconds: 60 };
    const t0 = now();
    const handle = await client.workflow.start(deploy, {
      workflowId: lockWorkflowId(target),
      taskQueue,
      args: [input],
      memo: { operation: 'deploy', version, requestedBy },
      typedSearchAttributes: operationSearchAttributes(target, 'deploy', version),
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowExecutionTimeout: '5 minutes',
    });
    const outcome = await handle.result();
    const elapsed = now() - t0;
    if (outcome.status !== 'succeeded' || outcome.version !== version) {
      throw new Error(`deploy ${i} of ${version} ended ${outcome.status}: ${outcome.detail}`);
    }
    const b = await historyBreakdown(handle);
    wall.push(elapsed);
    breakdowns.push(b);
    rows.push([
      `${i + 1}${i === 0 ? ' (cold)' : ''}`,
      version,
      ms(elapsed),
      ms(b.workflowMs),
      ms(activityMs(b, 'deployVersion')),
      `${ms(activityMs(b, 'probeReadiness'))} (${activityCount(b, 'probeReadiness')})`,
      `${ms(activityMs(b, 'probeHealth'))} (${activityCount(b, 'probeHealth')})`,
      ms(b.timersMs),
      ms(activityMs(b, 'recordStart', 'recordRelease', 'recordResult', 'recordSucceeded')),
      ms(activityMs(b, 'validateTarget', 'preflight', 'checkTarget')),
      ms(b.workflowTasksMs),
    ]);
  }
  printTable(
    ['#', 'version', 'wall ms', 'workflow', 'deployVersion', 'readiness (n)', 'health (n)', 'timers', 'records', 'validate+preflight', 'wf tasks'],
    rows,
  );
  console.log('  (activity columns: scheduled-to-completed from the history, all attempts; timers: durable sleeps between probes)');

  const summary = (label: string, values: number[]): string[] => {
    const s = stats(values);
    return [label, ms(s.min), ms(s.median), ms(s.p95), ms(s.max)];
  };
  const statRows = [
    summary('end to end (client wall)', wall),
    summary('workflow (history)', breakdowns.map((b) => b.workflowMs)),
    summary('deployVersion (docker compose up)', breakdowns.map((b) => activityMs(b, 'deployVersion'))),
    summary('readiness + health probes', breakdowns.map((b) => activityMs(b, 'probeReadiness', 'probeHealth'))),
    summary('timers (sleeps)', breakdowns.map((b) => b.timersMs)),
    summary('validate + preflight', breakdowns.map((b) => activityMs(b, 'validateTarget', 'preflight', 'checkTarget'))),
    summary('records activities', breakdowns.map((b) => activityMs(b, 'recordStart', 'recordRelease', 'recordResult', 'recordSucceeded'))),
  ];
  if (wall.length > 1) statRows.push(summary('end to end, warm only (2..N)', wall.slice(1)));
  console.log();
  printTable(['ms', 'min', 'median', 'p95', 'max'], statRows);
  const docker = breakdowns.map((b) => activityMs(b, 'deployVersion', 'probeReadiness', 'probeHealth', 'validateTarget', 'preflight', 'checkTarget'));
  const share = docker.reduce((a, b) => a + b, 0) / wall.reduce((a, b) => a + b, 0);
  console.log(`  docker/provider activities (validate, preflight, deployVersion, probes) = ${(share * 100).toFixed(0)}% of the end-to-end time`);

  // Reference: what one CLI call costs here, since every provider step runs a few of them.
  const composeFile = path.join(env.dir, 'docker-compose.yml');
  const refs: Array<[string, string, string[]]> = [
    ['docker-compose ps -q web', 'docker-compose', ['-f', composeFile, '-p', env.project, 'ps', '-q', 'web']],
    ['docker ps -q', 'docker', ['ps', '-q']],
  ];
  const refRows: string[][] = [];
  for (const [label, file, args] of refs) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = now();
      await run(file, args, { timeout: 30_000 });
      times.push(now() - t0);
    }
    refRows.push([label, ms(percentile(times, 0)), ms(percentile(times, 50)), ms(percentile(times, 100))]);
  }
  console.log();
  printTable(['one command (3 runs)', 'min ms', 'median ms', 'max ms'], refRows);
}
