import {
  classifyRefreshToken,
  hashRefreshToken,
  type RefreshTokenRecord,
} from '../../../services/core/auth/refresh-tokens.js';

const NOW = new Date('2030-01-01T12:00:00Z');

function record(changes: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    id: 'r1',
    user_id: 'u1',
    family_id: 'f1',
    expires_at: new Date(NOW.getTime() + 60_000),
    rotated_at: null,
    revoked_at: null,
    ...changes,
  };
}

describe('classifyRefreshToken', () => {
  test('an unexpired, unused, unrevoked token is valid', () => {
    expect(classifyRefreshToken(record(), NOW)).toBe('valid');
  });

  test('a token that was already exchanged is a reuse', () => {
    expect(classifyRefreshToken(record({ rotated_at: new Date(NOW.getTime() - 1000) }), NOW)).toBe(
      'reused',
    );
  });

  test('a token is expired from its expiry instant on', () => {
    expect(classifyRefreshToken(record({ expires_at: new Date(NOW.getTime() + 1) }), NOW)).toBe(
      'valid',
    );
    expect(classifyRefreshToken(record({ expires_at: NOW }), NOW)).toBe('expired');
    expect(classifyRefreshToken(record({ expires_at: new Date(NOW.getTime() - 1) }), NOW)).toBe(
      'expired',
    );
  });

  test('revocation wins over everything else', () => {
    const revoked = { revoked_at: new Date(NOW.getTime() - 1000) };
    expect(classifyRefreshToken(record(revoked), NOW)).toBe('revoked');
    expect(classifyRefreshToken(record({ ...revoked, rotated_at: new Date(0) }), NOW)).toBe(
      'revoked',
    );
    expect(classifyRefreshToken(record({ ...revoked, expires_at: new Date(0) }), NOW)).toBe(
      'revoked',
    );
  });

  test('a reused token is reported as reuse even after it expired, so its family is still revoked', () => {
    expect(
      classifyRefreshToken(record({ rotated_at: new Date(0), expires_at: new Date(0) }), NOW),
    ).toBe('reused');
  });
});

test('hashRefreshToken is a stable SHA-256 hex digest that differs per token', () => {
  expect(hashRefreshToken('abc')).toBe(
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  expect(hashRefreshToken('abd')).not.toBe(hashRefreshToken('abc'));
});
