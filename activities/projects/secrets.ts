/** Secrets generated for a project, from node:crypto's CSPRNG. */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { SECRET_MAX_LENGTH, SECRET_MIN_LENGTH, type SecretKind } from '../../domain/projects';

/**
 * Letters and digits without the look-alikes (0/O, 1/l/I): nothing that needs quoting in a URL, a shell, a
 * YAML value or an env file. 57 symbols: about 5.8 bits each, so the default 32 give about 186 bits.
 */
export const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/**
 * A fresh secret of `length` characters (a uuid ignores it): password (PASSWORD_ALPHABET), hex (lowercase),
 * base64 (URL-safe, no padding).
 */
export function generateSecret(kind: SecretKind, length: number): string {
  if (kind === 'uuid') return randomUUID();
  if (!Number.isInteger(length) || length < SECRET_MIN_LENGTH || length > SECRET_MAX_LENGTH) {
    throw new RangeError(`secret length ${length} is not an integer from ${SECRET_MIN_LENGTH} to ${SECRET_MAX_LENGTH}; set the secret's length in projects.secrets`);
  }
  switch (kind) {
    case 'password':
      // randomInt draws without modulo bias.
      return Array.from({ length }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
    case 'hex':
      return randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);
    case 'base64':
      return randomBytes(Math.ceil((length * 3) / 4)).toString('base64url').slice(0, length);
  }
}
