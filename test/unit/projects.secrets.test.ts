import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decryptSecrets, encryptSecrets, loadSecretsKey, type SecretsKey } from '../../activities/projects/crypto';
import { generateSecret, PASSWORD_ALPHABET } from '../../activities/projects/secrets';

describe('generateSecret', () => {
  it('password: the requested length, only unambiguous URL- and env-safe characters', () => {
    const value = generateSecret('password', 64);
    expect(value).toHaveLength(64);
    for (const c of value) expect(PASSWORD_ALPHABET).toContain(c);
    expect(value).toMatch(/^[A-Za-z0-9]+$/);
    expect(value).not.toMatch(/[0O1lI]/);
    expect(encodeURIComponent(value)).toBe(value);
  });

  it.each([8, 9, 33, 128])('hex and base64 of length %i', (length) => {
    expect(generateSecret('hex', length)).toMatch(new RegExp(`^[0-9a-f]{${length}}$`));
    expect(generateSecret('base64', length)).toMatch(new RegExp(`^[A-Za-z0-9_-]{${length}}$`));
  });

  it('uuid ignores the length', () => {
    expect(generateSecret('uuid', 8)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('never twice the same', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateSecret('password', 16)));
    expect(seen.size).toBe(200);
  });

  it.each([7, 129, 10.5])('refuses length %s', (length) => {
    expect(() => generateSecret('hex', length)).toThrow(/from 8 to 128; set the secret's length in projects.secrets/);
  });
});

describe('secrets key and encryption', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function dataDir(): Promise<string> {
    const d = await mkdtemp(path.join(tmpdir(), 'fraisier-keys-'));
    dirs.push(d);
    return path.join(d, 'data');
  }

  it('makes the key file once, mode 0600, and reads the same key afterwards', async () => {
    const dir = await dataDir();
    const first = await loadSecretsKey({ env: {}, dataDir: dir });
    const file = path.join(dir, 'secrets.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const second = await loadSecretsKey({ env: {}, dataDir: dir });
    expect(second.key.equals(first.key)).toBe(true);
    expect(second.id).toBe(first.id);
    expect(first.id).toMatch(/^[0-9a-f]{8}$/);
    expect(first.key).toHaveLength(32);
  });

  it('two loads at once end with one key', async () => {
    const dir = await dataDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadSecretsKey({ env: {}, dataDir: dir })));
    expect(new Set(keys.map((k) => k.id)).size).toBe(1);
    // No temporary file is left behind.
    expect(await readdir(dir)).toEqual(['secrets.key']);
  });

  it('refuses a key file others can read, saying to chmod 600', async () => {
    const dir = await dataDir();
    await loadSecretsKey({ env: {}, dataDir: dir });
    const file = path.join(dir, 'secrets.key');
    await chmod(file, 0o640);
    await expect(loadSecretsKey({ env: {}, dataDir: dir })).rejects.toThrow(`Run \`chmod 600 ${file}\``);
  });

  it('takes FRAISIER_SECRETS_KEY as hex or base64, the same key either way', async () => {
    const dir = await dataDir();
    const hex = 'ab'.repeat(32);
    const fromHex = await loadSecretsKey({ env: { FRAISIER_SECRETS_KEY: hex }, dataDir: dir });
    const fromBase64 = await loadSecretsKey({ env: { FRAISIER_SECRETS_KEY: Buffer.from(hex, 'hex').toString('base64') }, dataDir: dir });
    expect(fromBase64.id).toBe(fromHex.id);
    expect(fromHex.source).toBe('FRAISIER_SECRETS_KEY');
    // The variable wins: no file is made.
    await expect(stat(path.join(dir, 'secrets.key'))).rejects.toThrow(/ENOENT/);
  });

  it.each(['short', 'ab'.repeat(31), Buffer.alloc(16).toString('base64'), 'not base64 at all!'])(
    'refuses FRAISIER_SECRETS_KEY=%j without printing it',
    async (value) => {
      const err = await loadSecretsKey({ env: { FRAISIER_SECRETS_KEY: value }, dataDir: await dataDir() }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain('FRAISIER_SECRETS_KEY does not hold a usable key');
      expect((err as Error).message).toContain('64 hex characters or in base64');
      expect((err as Error).message).not.toContain(value);
    },
  );

  async function key(env: NodeJS.ProcessEnv = {}): Promise<SecretsKey> {
    return loadSecretsKey({ env, dataDir: await dataDir() });
  }

  it('round-trips, with a fresh IV each time', async () => {
    const k = await key();
    const secrets = { DB_PASSWORD: 'p4ss', 'UNICODE': 'clé ☃', EMPTY: '' };
    const a = encryptSecrets(k, secrets);
    const b = encryptSecrets(k, secrets);
    expect(a.keyId).toBe(k.id);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(a.ciphertext).not.toContain('p4ss');
    expect(decryptSecrets(k, a)).toEqual(secrets);
    expect(decryptSecrets(k, b)).toEqual(secrets);
  });

  it('detects tampering', async () => {
    const k = await key();
    const stored = encryptSecrets(k, { DB_PASSWORD: 'p4ss' });
    const raw = Buffer.from(stored.ciphertext, 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => decryptSecrets(k, { ...stored, ciphertext: raw.toString('base64') })).toThrow(/fail their integrity check under key/);
    expect(() => decryptSecrets(k, { ...stored, ciphertext: 'AAAA' })).toThrow(/truncated/);
  });

  it('names both keys when the key differs', async () => {
    const made = await key();
    const other = await key({ FRAISIER_SECRETS_KEY: 'cd'.repeat(32) });
    const stored = encryptSecrets(made, { A: 'b' });
    expect(() => decryptSecrets(other, stored)).toThrow(`encrypted with key ${made.id}, and FRAISIER_SECRETS_KEY is key ${other.id}`);
    // Same id claimed, other key: the tag catches it.
    expect(() => decryptSecrets(other, { ...stored, keyId: other.id })).toThrow(/integrity check/);
  });

  it('a key file that was edited into garbage is refused, naming the file', async () => {
    const dir = await dataDir();
    await loadSecretsKey({ env: {}, dataDir: dir });
    const file = path.join(dir, 'secrets.key');
    expect((await readFile(file, 'utf8')).trim()).toHaveLength(44);
    await writeFile(file, 'garbage\n', { mode: 0o600 });
    await expect(loadSecretsKey({ env: {}, dataDir: dir })).rejects.toThrow(`${file} does not hold a usable key`);
  });
});
