/** Timing, statistics and tables for the bench's printed figures. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export const now = (): number => performance.now();

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const s = sorted(values);
  if (s.length === 0) return Number.NaN;
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] ?? Number.NaN;
}

export function stats(values: readonly number[]): { min: number; median: number; p95: number; max: number } {
  return { min: percentile(values, 0), median: percentile(values, 50), p95: percentile(values, 95), max: percentile(values, 100) };
}

export function ms(n: number): string {
  return Number.isFinite(n) ? n.toFixed(0) : '-';
}

export function printTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

export function heading(title: string): void {
  console.log(`\n== ${title}`);
}

/** Rejects after `limitMs` (the work itself goes on; the caller's finally cleans up). */
export async function within<T>(limitMs: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${limitMs / 1000}s`)), limitMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function commandOutput(file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(file, args, { timeout: 15_000 });
    return stdout.trim().split('\n')[0] ?? '';
  } catch {
    return '(unavailable)';
  }
}
