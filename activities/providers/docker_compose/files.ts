/**
 * File changes made by the provider: always backed up first, always written atomically (temp file + rename).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** How many backups of one file are kept. */
export const BACKUPS_KEPT = 5;

export function backupDirFor(file: string): string {
  return path.join(path.dirname(file), '.fraisier', 'backups');
}

function timestamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace('.', '');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies `file` to `<dir>/.fraisier/backups/<name>.<timestamp>` and keeps the newest BACKUPS_KEPT copies.
 * Returns the backup path, or undefined when the file does not exist yet (nothing to back up).
 */
export async function backupFile(file: string, now: Date = new Date()): Promise<string | undefined> {
  if (!(await exists(file))) return undefined;
  const dir = backupDirFor(file);
  await fs.mkdir(dir, { recursive: true });
  const base = path.basename(file);
  let target = path.join(dir, `${base}.${timestamp(now)}`);
  for (let n = 1; await exists(target); n++) target = path.join(dir, `${base}.${timestamp(now)}-${n}`);
  await fs.copyFile(file, target);
  await pruneBackups(file);
  return target;
}

/** Backups of `file`, oldest first. */
export async function listBackups(file: string): Promise<string[]> {
  const dir = backupDirFor(file);
  const prefix = `${path.basename(file)}.`;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^\d{8}T\d{9}Z(-\d+)?$/.test(n.slice(prefix.length)))
    .sort((a, b) => {
      const [ta = '', na = '0'] = a.slice(prefix.length).split('-');
      const [tb = '', nb = '0'] = b.slice(prefix.length).split('-');
      return ta === tb ? Number(na) - Number(nb) : ta < tb ? -1 : 1;
    })
    .map((n) => path.join(dir, n));
}

async function pruneBackups(file: string): Promise<void> {
  const all = await listBackups(file);
  for (const old of all.slice(0, Math.max(0, all.length - BACKUPS_KEPT))) {
    await fs.rm(old, { force: true });
  }
}

/** Writes `content` to `file` through a temp file in the same directory and a rename; keeps the file's mode. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.fraisier-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  let mode = 0o644;
  try {
    mode = (await fs.stat(file)).mode & 0o7777;
  } catch {
    // new file: default mode
  }
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Backs `file` up, then replaces it atomically. Returns the backup path (undefined for a new file). */
export async function replaceFile(file: string, content: string): Promise<string | undefined> {
  const backup = await backupFile(file);
  await writeFileAtomic(file, content);
  return backup;
}
