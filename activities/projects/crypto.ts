/**
 * Projects' secrets at rest: AES-256-GCM with one key per fraisier installation, from FRAISIER_SECRETS_KEY or
 * a key file made once under the data directory. The key itself is never written into a message.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const SECRETS_KEY_ENV = 'FRAISIER_SECRETS_KEY';
export const SECRETS_KEY_FILE = 'secrets.key';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_FORMS = `32 bytes, written as 64 hex characters or in base64 (e.g. the output of \`openssl rand -base64 32\`)`;

export interface SecretsKey {
  key: Buffer;
  /** First 8 hex characters of the key's sha256: names the key in records and messages, reveals nothing of it. */
  id: string;
  /** Where it came from, for messages: the variable's name or the file's path. */
  source: string;
}

export interface StoredSecrets {
  keyId: string;
  /** base64 of iv (12 bytes) | tag (16 bytes) | data. */
  ciphertext: string;
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** 64 hex characters, or base64 (standard or URL-safe) of exactly 32 bytes; undefined otherwise. */
function decodeKey(text: string): Buffer | undefined {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length === KEY_BYTES ? bytes : undefined;
}

function fromText(text: string, source: string, fix: string): SecretsKey {
  const key = decodeKey(text);
  // Never the value: only its length says what was wrong.
  if (!key) throw new Error(`${source} does not hold a usable key (${text.trim().length} characters); it must be ${KEY_FORMS}. ${fix}`);
  return { key, id: keyId(key), source };
}

async function readKeyFile(file: string): Promise<SecretsKey> {
  const info = await stat(file);
  if ((info.mode & 0o077) !== 0) {
    throw new Error(
      `${file} is readable or writable by group or others (mode ${(info.mode & 0o777).toString(8)}): it holds the key of every project's secrets. Run \`chmod 600 ${file}\` and try again`,
    );
  }
  return fromText(await readFile(file, 'utf8'), file, `Restore the file from a backup, or set ${SECRETS_KEY_ENV}`);
}

/**
 * The key: FRAISIER_SECRETS_KEY when set, else `<dataDir>/secrets.key`, created on first use (mode 0600,
 * atomically, so that two workers starting at once end up with the same key) and read afterwards.
 */
export async function loadSecretsKey(options: { env: NodeJS.ProcessEnv; dataDir: string }): Promise<SecretsKey> {
  const fromEnv = options.env[SECRETS_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return fromText(fromEnv, SECRETS_KEY_ENV, `Set it to such a value, or unset it to use ${path.join(options.dataDir, SECRETS_KEY_FILE)}`);
  }
  const file = path.join(options.dataDir, SECRETS_KEY_FILE);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  // Written whole under a name of its own, then linked into place: link() fails when the file exists, so a
  // reader never sees half a key, and of two workers starting at once one key wins and both use it.
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(partial, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
    await link(partial, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new Error(`cannot create the secrets key file ${file}: ${(err as Error).message}. Make ${options.dataDir} writable, or set ${SECRETS_KEY_ENV}`, { cause: err });
    }
  } finally {
    await rm(partial, { force: true });
  }
  // Read back even when just written: one code path, and the file another process won the race with.
  return readKeyFile(file);
}

export function encryptSecrets(key: SecretsKey, secrets: Record<string, string>): StoredSecrets {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  return { keyId: key.id, ciphertext: Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64') };
}

export function decryptSecrets(key: SecretsKey, stored: StoredSecrets): Record<string, string> {
  if (stored.keyId !== key.id) {
    throw new Error(
      `these secrets were encrypted with key ${stored.keyId}, and ${key.source} is key ${key.id}: run the worker with the key they were made with (${SECRETS_KEY_ENV} or its ${SECRETS_KEY_FILE})`,
    );
  }
  const raw = Buffer.from(stored.ciphertext, 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new Error(`the stored secrets are truncated (${raw.length} bytes): the record is damaged`);
  const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, IV_BYTES));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  let text: string;
  try {
    text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(`the stored secrets fail their integrity check under key ${key.id}: the record was altered or damaged, and they cannot be trusted`);
  }
  return JSON.parse(text) as Record<string, string>;
}
