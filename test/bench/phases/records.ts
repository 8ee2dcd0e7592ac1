/** Phase 3: records write rate, PGlite over its socket and PostgreSQL, sequential and concurrent. */
import os from 'node:os';
import path from 'node:path';
import { openRecords } from '../../../db/connect';
import type { Records } from '../../../db/types';
import type { Target } from '../../../domain/target';
import type { Env } from '../env';
import { heading, ms, now, printTable, stats, within } from '../report';

const RECORD_TARGET: Target = {
  fraise: 'bench',
  environment: 'records',
  provider: 'docker_compose',
  config: { compose_file: path.join(os.tmpdir(), 'docker-compose.yml'), service_name: 'web' },
  retain: 5,
};

async function writePairs(records: Records, prefix: string, count: number, latencies: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const key = { workflowId: `${prefix}-${i}`, runId: `run-${i}` };
    const t0 = now();
    await records.recordStart({
      ...key,
      target: RECORD_TARGET,
      operation: 'deploy',
      version: `v${i}`,
      previousVersion: null,
      requestedBy: 'bench',
      ephemeral: false,
      ttlSeconds: null,
      startedAt: new Date(),
    });
    await records.recordResult(key, { status: 'succeeded', url: null, error: null, logs: null, finishedAt: new Date() });
    latencies.push(now() - t0);
  }
}

export async function benchRecords(env: Env): Promise<void> {
  const { opts } = env;
  heading(`3. records write rate: ${opts.records} recordStart+recordResult pairs per mode (sequential, then ${opts.writers} concurrent writers)`);
  const rows: string[][] = [];
  for (const kind of opts.db) {
    const url = env.dbUrls.get(kind);
    if (!url) continue;
    const records = await openRecords(url, { max: opts.writers });
    try {
      const tag = `${kind}-${process.pid}-${Date.now()}`;
      await writePairs(records, `${tag}-warmup`, Math.min(20, opts.records), []);

      const seqLat: number[] = [];
      let t0 = now();
      await within(opts.phaseTimeoutMs, `${kind} sequential writes`, writePairs(records, `${tag}-seq`, opts.records, seqLat));
      const seqMs = now() - t0;
      const s = stats(seqLat);
      rows.push([kind, 'sequential', String(opts.records), ms(seqMs), (opts.records / (seqMs / 1000)).toFixed(0), s.median.toFixed(2), s.p95.toFixed(2), s.max.toFixed(1)]);

      const conLat: number[] = [];
      const per = Math.ceil(opts.records / opts.writers);
      t0 = now();
      await within(
        opts.phaseTimeoutMs,
        `${kind} concurrent writes`,
        Promise.all(Array.from({ length: opts.writers }, (_, w) => writePairs(records, `${tag}-con${w}`, Math.min(per, opts.records - w * per), conLat))),
      );
      const conMs = now() - t0;
      const c = stats(conLat);
      rows.push([kind, `${opts.writers} writers`, String(conLat.length), ms(conMs), (conLat.length / (conMs / 1000)).toFixed(0), c.median.toFixed(2), c.p95.toFixed(2), c.max.toFixed(1)]);
    } finally {
      await records.close();
    }
  }
  printTable(['database', 'mode', 'pairs', 'total ms', 'pairs/s', 'median ms', 'p95 ms', 'max ms'], rows);
  console.log('  (latency = one recordStart + recordResult pair; pglite is served over its socket server, pg pool size = writers)');
}
