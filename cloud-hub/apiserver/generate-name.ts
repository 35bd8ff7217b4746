/**
 * `metadata.generateName`: kube appends five random characters from an alphabet without vowels
 * (no accidental words) and retries a few times when the name is taken.
 */
import { randomInt } from 'node:crypto';

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** How many generated names a create tries before answering AlreadyExists. */
export const GENERATE_NAME_ATTEMPTS = 8;

export function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += GENERATE_NAME_ALPHABET[randomInt(GENERATE_NAME_ALPHABET.length)];
  return prefix + suffix;
}
