/** The bench's options: `--name value` or `--name=value` (node:util parseArgs), else BENCH_<NAME> in the environment. */
import { parseArgs } from 'node:util';

export type DbKind = 'pglite' | 'postgres';
export const PHASES = ['deploy', 'lock', 'records', 'cleanup', 'coolify', 'bare_metal', 'scale'] as const;
export type Phase = (typeof PHASES)[number];

export interface Options {
  deploys: number;
  racers: number;
  lockRounds: number;
  records: number;
  writers: number;
  db: DbKind[];
  cleanupTargets: number;
  phases: Phase[];
  phaseTimeoutMs: number;
  /** Deploys per mode of the bare_metal phase (fraisier, plain ssh by hand, multiplexed ssh by hand). */
  bareMetalDeploys: number;
  /** scale: concurrent deploys (and ceiling workflows) on distinct targets. */
  scaleDeploys: number;
  /** scale: expired ephemeral records the cleanup workflow removes (0 skips that part). */
  scaleCleanupRecords: number;
  scaleCleanupConcurrency: number;
  scaleCleanupItemsPerRun: number;
  /** scale: a Temporal server to use instead of the dev server the bench starts (host:port); null: the dev server. */
  temporalAddress: string | null;
  temporalNamespace: string;
  /** scale: the deploys' worker in a process of its own (its RSS read from /proc) or in the bench process. */
  scaleWorker: 'process' | 'inline';
  /** scale: the worker's maxCachedWorkflows; null: the phase's tuning (1000). */
  scaleMaxCached: number | null;
}

export const USAGE = [
  'usage: npm run bench -- [options]   (each also as BENCH_<NAME> in the environment, e.g. BENCH_DEPLOYS=10)',
  '  --deploys N          sequential deploys, alternating v1/v2 (default 10)',
  '  --racers N           simultaneous startUnderLock calls per lock round (default 20)',
  '  --lock-rounds N      lock contention rounds (default 3)',
  '  --records N          recordStart+recordResult pairs per mode and database (default 1000)',
  '  --writers N          concurrent writers in the concurrent mode (default 4)',
  '  --db pglite|postgres|both   databases for the records figures (default both); the worker uses PGlite when listed',
  '  --cleanup-targets N  expired ephemeral targets to clean (default 20; 0 skips)',
  '  --phases LIST        comma-separated subset of deploy,lock,records,cleanup,coolify,bare_metal,scale (default all but scale, which takes ~25 min)',
  '  --phase-timeout S    bound on each phase, seconds (default 300)',
  '  --bare-metal-deploys N   bare_metal deploys per mode (fraisier, plain ssh, multiplexed ssh), v1/v2 alternating (default 5)',
  '  --scale-deploys N    scale: concurrent no-op deploys on N distinct targets, and as many ceiling workflows (default 500)',
  '  --scale-cleanup-records N      scale: expired ephemeral records to clean (default 10000; 0 skips)',
  '  --scale-cleanup-concurrency N  scale: the cleanup workflow\'s concurrency (default 4, the workflow\'s default)',
  '  --scale-cleanup-items-per-run N  scale: its itemsPerRun before continue-as-new (default 50, the workflow\'s default)',
  '  --scale-worker process|inline  scale: the deploys\' worker in a process of its own, RSS from /proc (default; needs --db postgres), or in the bench process',
  '  --scale-max-cached N  scale: the worker\'s maxCachedWorkflows (default 1000)',
  '  --temporal-address HOST:PORT   scale: use this Temporal server instead of starting a dev server (plaintext, no TLS)',
  '  --temporal-namespace NS        with --temporal-address (default "default"); our search attributes must be registered there',
].join('\n');

const NAMES = [
  'deploys',
  'racers',
  'lock-rounds',
  'records',
  'writers',
  'db',
  'cleanup-targets',
  'phases',
  'phase-timeout',
  'bare-metal-deploys',
  'scale-deploys',
  'scale-cleanup-records',
  'scale-cleanup-concurrency',
  'scale-cleanup-items-per-run',
  'temporal-address',
  'temporal-namespace',
  'scale-worker',
  'scale-max-cached',
] as const;

/** The options, or `help` when --help was asked for. Throws an Error saying what is wrong (the caller exits 2). */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const name of NAMES) options[name] = { type: 'string' };
  const { values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options });
  if (values.help === true) return 'help';
  const get = (name: (typeof NAMES)[number]): string | undefined => {
    const given = values[name];
    return typeof given === 'string' ? given : env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const int = (name: (typeof NAMES)[number], def: number, min: number, max: number): number => {
    const text = get(name);
    if (text === undefined || text === '') return def;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got "${text}"`);
    return n;
  };
  const dbText = get('db') ?? 'both';
  const db: DbKind[] = dbText === 'both' ? ['pglite', 'postgres'] : dbText === 'pglite' || dbText === 'postgres' ? [dbText] : [];
  if (db.length === 0) throw new Error(`--db must be pglite, postgres or both, got "${dbText}"`);
  const phases = (get('phases') ?? PHASES.filter((p) => p !== 'scale').join(',')).split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of phases) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--phases: unknown phase "${p}" (known: ${PHASES.join(', ')})`);
  const address = get('temporal-address')?.trim() || null;
  if (address !== null && !/^(\[[0-9a-fA-F:]+\]|[^\s:/[\]]+):\d+$/.test(address)) throw new Error(`--temporal-address must be host:port, got "${address}"`);
  const scaleWorkerText = get('scale-worker')?.trim() || 'process';
  if (scaleWorkerText !== 'process' && scaleWorkerText !== 'inline') throw new Error(`--scale-worker must be process or inline, got "${scaleWorkerText}"`);
  const scaleWorker: Options['scaleWorker'] = scaleWorkerText;
  return {
    deploys: int('deploys', 10, 1, 500),
    racers: int('racers', 20, 2, 200),
    lockRounds: int('lock-rounds', 3, 1, 50),
    records: int('records', 1000, 1, 1_000_000),
    writers: int('writers', 4, 1, 32),
    db,
    cleanupTargets: int('cleanup-targets', 20, 0, 2000),
    phases: phases as Phase[],
    phaseTimeoutMs: int('phase-timeout', 300, 10, 3600) * 1000,
    bareMetalDeploys: int('bare-metal-deploys', 5, 3, 200),
    scaleDeploys: int('scale-deploys', 500, 1, 5000),
    scaleCleanupRecords: int('scale-cleanup-records', 10_000, 0, 100_000),
    scaleCleanupConcurrency: int('scale-cleanup-concurrency', 4, 1, 200),
    scaleCleanupItemsPerRun: int('scale-cleanup-items-per-run', 50, 1, 2000),
    temporalAddress: address,
    temporalNamespace: get('temporal-namespace')?.trim() || 'default',
    scaleWorker,
    scaleMaxCached: get('scale-max-cached') ? int('scale-max-cached', 1_000, 0, 100_000) : null,
  };
}
