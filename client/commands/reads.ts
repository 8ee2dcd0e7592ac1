import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { resolve } from 'node:path';
import { loadConfig } from '../../config/load';
import { chooseBackend } from '../../config/projects';
import { findProvider, providerCatalogue } from '../../config/providers/index';
import type { ServiceStatus } from '../../domain/release';
import type { Target } from '../../domain/target';
import { databaseUrl, openRecords } from '../../db/connect';
import type { DeploymentRecord, Records } from '../../db/types';
import { PACKAGE_ROOT } from '../../config/paths';
import { lockWorkflowId } from '../../domain/ids';
import { inspectLogs, inspectStatus, testProvider } from '../../workflows/inspect';
import type { Output } from '../cli';
import { loadTarget } from '../context';
import { CliError, EXIT } from '../exitCodes';
import { failureDetails } from '../follow';
import { describeHolder, lockHolder } from '../lock';
import { connectTemporal, type ConnectedClient } from '../temporalClient';

const INSPECT_TIMEOUT = '2 minutes';

export async function withRecords<T>(body: (records: Records) => Promise<T>): Promise<T> {
  let records: Records;
  try {
    // Relative to fraisier's own folder, where `npm start` keeps .data/, wherever the CLI runs from.
    records = await openRecords(databaseUrl(process.env, PACKAGE_ROOT));
  } catch (err) {
    throw new CliError(`cannot open the records database: ${(err as Error).message}`, EXIT.badInput);
  }
  try {
    return await body(records);
  } finally {
    await records.close();
  }
}

/** Runs a read-only inspect workflow on a worker (only workers reach providers) and returns its result. */
async function inspect<R>(
  temporal: ConnectedClient,
  what: string,
  target: Target,
  execute: (options: { workflowId: string; taskQueue: string; workflowExecutionTimeout: string }) => Promise<R>,
): Promise<R> {
  try {
    return await execute({
      workflowId: `inspect:${lockWorkflowId(target)}:${randomUUID()}`,
      taskQueue: target.taskQueue ?? temporal.settings.taskQueue,
      workflowExecutionTimeout: INSPECT_TIMEOUT,
    });
  } catch (err) {
    const failure = failureDetails(err);
    if (failure) throw new CliError(`${what} of ${target.fraise}/${target.environment} failed: ${failure.message}`, EXIT.failed);
    throw err;
  }
}

function formatRecord(r: DeploymentRecord): string {
  const when = r.startedAt.toISOString().replace('T', ' ').slice(0, 19);
  const took = r.durationMs === null ? '' : ` ${(r.durationMs / 1000).toFixed(1)}s`;
  const extra = [
    r.previousVersion ? `from ${r.previousVersion}` : '',
    r.ephemeral ? `ephemeral${r.cleanedAt ? `, cleaned ${r.cleanedAt.toISOString()}` : ''}` : '',
    r.error ? `error: ${r.error.split('\n')[0]}` : '',
  ].filter(Boolean);
  return `${when}  ${r.fraise}/${r.environment} (${r.provider})  ${r.operation.padEnd(8)} ${r.version.padEnd(12)} ${r.status.padEnd(11)}${took}  by ${r.requestedBy}${extra.length ? `  [${extra.join('; ')}]` : ''}`;
}

export async function runStatus(out: Output, fraise: string, environment: string, opts: { config: string; live: boolean }): Promise<number> {
  const target = await loadTarget(opts.config, fraise, environment);
  const temporal = await connectTemporal();
  try {
    const holder = await lockHolder(temporal.client, target);
    const { latest, current } = await withRecords(async (records) => ({
      latest: await records.latestOperation(target),
      current: await records.currentRelease(target),
    }));
    let live: ServiceStatus | { error: string } | null = null;
    if (opts.live && findProvider(target.provider)?.available) {
      live = await inspect(temporal, 'status', target, (o) => temporal.client.workflow.execute(inspectStatus, { ...o, args: [target] })).catch(
        (err: Error) => ({ error: err.message }),
      );
    }
    const status = {
      target: { fraise, environment, provider: target.provider, lockWorkflowId: lockWorkflowId(target) },
      currentRelease: current ? { version: current.version, recordedAt: current.createdAt.toISOString() } : null,
      lastOperation: latest ?? null,
      lock: holder ? { ...holder, since: holder.since.toISOString(), description: describeHolder(holder) } : null,
      live,
    };
    if (out.json) {
      out.data(status);
      return EXIT.ok;
    }
    out.info(`${fraise}/${environment} (${target.provider})`);
    out.info(`  release:   ${current ? `${current.version} (since ${current.createdAt.toISOString()})` : 'none recorded'}`);
    out.info(`  last op:   ${latest ? formatRecord(latest) : 'none'}`);
    out.info(`  lock:      ${holder ? describeHolder(holder) : 'free'}`);
    if (live) {
      out.info(
        `  live:      ${'error' in live ? `unavailable (${live.error})` : `${live.state}${live.version ? ` ${live.version}` : ''}: ${live.detail}${live.url ? ` ${live.url}` : ''}`}`,
      );
    }
    return EXIT.ok;
  } finally {
    await temporal.close();
  }
}

export async function runHistory(out: Output, fraise: string | undefined, environment: string | undefined, opts: { limit: string }): Promise<number> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--limit ${opts.limit}: a whole number from 1 to 1000`, EXIT.badInput);
  const filter = { ...(fraise ? { fraise } : {}), ...(environment ? { environment } : {}) };
  const rows = await withRecords((records) => records.history(filter, limit));
  if (out.json) out.data(rows);
  else if (rows.length === 0) out.info('no operations recorded');
  else for (const row of rows) out.info(formatRecord(row));
  return EXIT.ok;
}

export async function runLogs(out: Output, fraise: string, environment: string, opts: { tail: string; config: string }): Promise<number> {
  const tail = Number(opts.tail);
  if (!Number.isInteger(tail) || tail < 1 || tail > 10_000) throw new CliError(`--tail ${opts.tail}: a whole number from 1 to 10000`, EXIT.badInput);
  const target = await loadTarget(opts.config, fraise, environment);
  const temporal = await connectTemporal();
  try {
    const logs = await inspect(temporal, 'logs', target, (o) => temporal.client.workflow.execute(inspectLogs, { ...o, args: [target, tail] }));
    if (out.json) out.data({ fraise, environment, provider: target.provider, tail, logs });
    else process.stdout.write(logs.endsWith('\n') || logs === '' ? logs : `${logs}\n`);
    return EXIT.ok;
  } finally {
    await temporal.close();
  }
}

export async function runProviderTest(out: Output, fraise: string, environment: string, opts: { config: string }): Promise<number> {
  const target = await loadTarget(opts.config, fraise, environment);
  const temporal = await connectTemporal();
  try {
    const report = await inspect(temporal, 'provider-test', target, (o) => temporal.client.workflow.execute(testProvider, { ...o, args: [target] }));
    if (out.json) out.data(report);
    else for (const check of report.checks) out.info(`${check.ok ? 'ok    ' : 'FAILED'} ${check.name}: ${check.detail}`);
    return report.ok ? EXIT.ok : EXIT.failed;
  } finally {
    await temporal.close();
  }
}

export async function runProviders(out: Output, opts: { config: string }): Promise<number> {
  const list = providerCatalogue.map((p) => ({ name: p.name, available: p.available, description: p.description }));
  if (out.json) {
    out.data(list);
    return EXIT.ok;
  }
  for (const p of list) out.info(`${p.name.padEnd(16)} ${p.available ? 'available' : 'planned  '}  ${p.description}`);
  // Where projects run: the projects: section's backend when the file has one, else the auto rule.
  const configured = await loadConfig(resolve(opts.config)).then(
    (c) => c.projects?.backend ?? 'auto',
    () => 'auto' as const,
  );
  out.info(`\nprojects (backend ${configured}): ${chooseBackend(configured, process.env).reason}`);
  return EXIT.ok;
}

export function runProviderInfo(out: Output, name: string): number {
  const entry = findProvider(name);
  if (!entry) {
    throw new CliError(`unknown provider "${name}"; known: ${providerCatalogue.map((p) => p.name).join(', ')}`, EXIT.badInput);
  }
  const schema = z.toJSONSchema(entry.configSchema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { description?: string; type?: string; enum?: unknown[]; default?: unknown }>;
    required?: string[];
  };
  const keys = Object.entries(schema.properties ?? {}).map(([key, p]) => ({
    key,
    required: (schema.required ?? []).includes(key),
    type: p.enum ? p.enum.join(' | ') : (p.type ?? 'any'),
    ...(p.default !== undefined ? { default: p.default } : {}),
    description: p.description ?? '',
  }));
  if (out.json) {
    out.data({ name: entry.name, available: entry.available, description: entry.description, config: keys, jsonSchema: schema });
    return EXIT.ok;
  }
  out.info(`${entry.name} (${entry.available ? 'available' : 'planned: its config validates, operations are refused'})`);
  out.info(`  ${entry.description}`);
  out.info('  config:');
  for (const k of keys) {
    out.info(`    ${k.key}${k.required ? ' (required)' : ''}: ${k.type}${'default' in k ? `, default ${JSON.stringify(k.default)}` : ''}  ${k.description}`);
  }
  return EXIT.ok;
}
