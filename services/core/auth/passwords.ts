import argon2 from 'argon2';

// OWASP's recommended argon2id floor: 19 MiB, 2 iterations, 1 lane. Keeps a login well under
// 100 ms on one core while making offline guessing expensive.
const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

// A real hash to verify against when the user does not exist, so a login for an unknown
// name costs the same time as a wrong password and does not reveal which names exist.
let decoyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  decoyHash ??= hashPassword('decoy-password-for-unknown-users');
  await verifyPassword(await decoyHash, password);
}
