/**
 * What the scale phase measures around a run: this process's CPU and peak RSS, the Temporal server's CPU (from
 * /proc, when its pid is known), the whole machine's CPU (other engineers' builds included), the event loop's
 * delay, and the time the worker spends in the records database.
 */
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Records } from '../../../db/types';
import { now } from '../report';

/** Clock ticks per second of /proc's CPU times (USER_HZ): 100 on every Linux the bench runs on. */
const USER_HZ = 100;

/** A process's user+system CPU seconds, from /proc/<pid>/stat; undefined when it cannot be read. */
export async function procCpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name (state is 0 here).
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU seconds over all cores, from /proc/stat; undefined off Linux. */
async function machineCpu(): Promise<{ busy: number; total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    // idle and iowait are fields 4 and 5 of the cpu line.
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: (total - idle) / USER_HZ, total: total / USER_HZ };
  } catch {
    return undefined;
  }
}

/** Time spent in the records database, as the worker sees it: calls, the sum of their durations, and when at least one ran. */
export class DbMeter {
  calls = 0;
  callMs = 0;
  busyMs = 0;
  private inFlight = 0;
  private busySince = 0;

  begin(): number {
    if (this.inFlight++ === 0) this.busySince = now();
    return now();
  }

  end(t0: number): void {
    const t = now();
    this.calls += 1;
    this.callMs += t - t0;
    if (--this.inFlight === 0) this.busyMs += t - this.busySince;
  }

  snapshot(): { calls: number; callMs: number; busyMs: number } {
    const open = this.inFlight > 0 ? now() - this.busySince : 0;
    return { calls: this.calls, callMs: this.callMs, busyMs: this.busyMs + open };
  }
}

/** The records, every method's call timed on `meter` (the projects' records are handed through as they are). */
export function meteredRecords(inner: Records, meter: DbMeter, hooks: { afterMarkCleaned?: () => void } = {}): Records {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]): Promise<unknown> => {
        const t0 = meter.begin();
        try {
          return await method.apply(target, args);
        } finally {
          meter.end(t0);
          if (property === 'markCleaned') hooks.afterMarkCleaned?.();
        }
      };
    },
  });
}

export interface RunResources {
  wallMs: number;
  /** This process (worker, its workflow thread, the client, PGlite when the worker uses it): CPU seconds per wall second. */
  benchCpu: number;
  serverCpu: number | undefined;
  /** All cores, everything on the machine. */
  machineCpu: number | undefined;
  cores: number;
  rssStartMb: number;
  rssPeakMb: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  db: { calls: number; callMs: number; busyMs: number };
  /** The gauge's samples (every SAMPLE_MS), e.g. workflows in flight. */
  gaugeSamples: number[];
}

const SAMPLE_MS = 50;

/** Measures `work`: CPU of this process, of the server and of the machine, peak RSS, event loop delay, database time; samples `gauge`. */
export async function measured<T>(
  o: { serverPid: number | undefined; db: DbMeter; cores: number; gauge?: () => number },
  work: () => Promise<T>,
): Promise<{ result: T; resources: RunResources }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const rssStart = process.memoryUsage.rss();
  let rssPeak = rssStart;
  const samples: number[] = [];
  const sample = (): void => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    if (o.gauge) samples.push(o.gauge());
  };
  const [server0, machine0] = await Promise.all([procCpuSeconds(o.serverPid), machineCpu()]);
  const db0 = o.db.snapshot();
  const cpu0 = process.cpuUsage();
  const t0 = now();
  loop.enable();
  const timer = setInterval(sample, SAMPLE_MS);
  let result: T;
  try {
    result = await work();
  } finally {
    clearInterval(timer);
    loop.disable();
  }
  sample();
  const wallMs = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const [server1, machine1] = await Promise.all([procCpuSeconds(o.serverPid), machineCpu()]);
  const db1 = o.db.snapshot();
  const perSecond = (seconds: number): number => seconds / (wallMs / 1000);
  return {
    result,
    resources: {
      wallMs,
      benchCpu: perSecond((cpu.user + cpu.system) / 1e6),
      serverCpu: server0 !== undefined && server1 !== undefined ? perSecond(server1 - server0) : undefined,
      machineCpu: machine0 && machine1 ? perSecond(machine1.busy - machine0.busy) : undefined,
      cores: o.cores,
      rssStartMb: rssStart / 2 ** 20,
      rssPeakMb: rssPeak / 2 ** 20,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
      db: { calls: db1.calls - db0.calls, callMs: db1.callMs - db0.callMs, busyMs: db1.busyMs - db0.busyMs },
      gaugeSamples: samples,
    },
  };
}

/** CPU seconds per wall second as a percentage of one core, e.g. "143% (of 200%)". */
export function cpuPercent(perSecond: number | undefined, cores: number): string {
  return perSecond === undefined ? '-' : `${(perSecond * 100).toFixed(0)}% of ${cores * 100}%`;
}

/** The rows every run prints: what it used, to see what limits it. */
export function resourceRows(r: RunResources): string[][] {
  const others = r.machineCpu === undefined ? undefined : Math.max(0, r.machineCpu - r.benchCpu - (r.serverCpu ?? 0));
  return [
    ['bench process CPU (worker + client + PGlite if used)', cpuPercent(r.benchCpu, r.cores)],
    ['Temporal server CPU', r.serverCpu === undefined ? '- (pid unknown: external server)' : cpuPercent(r.serverCpu, r.cores)],
    ['whole machine CPU', cpuPercent(r.machineCpu, r.cores)],
    ['  of which other processes (other engineers\' builds, ...)', cpuPercent(others, r.cores)],
    ['event loop delay p99 / max', `${r.loopDelayP99Ms.toFixed(0)} / ${r.loopDelayMaxMs.toFixed(0)} ms`],
    ['records database: calls, busy (>=1 call open)', `${r.db.calls}, ${((r.db.busyMs / r.wallMs) * 100).toFixed(0)}% of wall`],
    ['records database: mean call', r.db.calls ? `${(r.db.callMs / r.db.calls).toFixed(1)} ms` : '-'],
    ['RSS start / peak', `${r.rssStartMb.toFixed(0)} / ${r.rssPeakMb.toFixed(0)} MB`],
  ];
}

/** A process's resident set now and its peak so far (VmRSS, VmHWM of /proc/<pid>/status), MB; undefined when gone. */
export async function procMemoryMb(pid: number): Promise<{ rssMb: number; hwmMb: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** What a ProcessSampler saw of another process between start() and stop(). */
export interface ProcessSample {
  samples: number;
  wallMs: number;
  rssStartMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  /** VmHWM at stop: the kernel's own peak, since the process started. */
  hwmMb: number;
  /** CPU seconds per wall second, from /proc/<pid>/stat. */
  cpu: number | undefined;
}

/** Samples another process's RSS (every `intervalMs`) and CPU from /proc, e.g. the scale phase's worker process. */
export class ProcessSampler {
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<unknown> = Promise.resolve();
  private t0 = 0;
  private cpu0: number | undefined;
  private samples = 0;
  private first = Number.NaN;
  private peak = 0;
  private last = Number.NaN;
  private hwm = Number.NaN;

  constructor(private readonly pid: number, private readonly intervalMs = 150) {}

  private async sample(): Promise<void> {
    const m = await procMemoryMb(this.pid);
    if (!m) return;
    if (this.samples === 0) this.first = m.rssMb;
    this.samples += 1;
    this.peak = Math.max(this.peak, m.rssMb);
    this.last = m.rssMb;
    this.hwm = m.hwmMb;
  }

  async start(): Promise<void> {
    this.t0 = now();
    this.cpu0 = await procCpuSeconds(this.pid);
    await this.sample();
    this.timer = setInterval(() => {
      this.pending = this.pending.then(() => this.sample());
    }, this.intervalMs);
  }

  async stop(): Promise<ProcessSample> {
    clearInterval(this.timer);
    await this.pending;
    await this.sample();
    const wallMs = now() - this.t0;
    const cpu1 = await procCpuSeconds(this.pid);
    return {
      samples: this.samples,
      wallMs,
      rssStartMb: this.first,
      rssPeakMb: this.peak,
      rssEndMb: this.last,
      hwmMb: this.hwm,
      cpu: this.cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - this.cpu0) / (wallMs / 1000) : undefined,
    };
  }
}
