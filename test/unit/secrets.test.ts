import { describe, expect, it } from 'vitest';
import { scrubSecrets } from '../../src/util/secrets.js';
import { cleanEnv } from '../../src/util/exec.js';

describe('secrets', () => {
  it('takes passwords out of server log lines, whatever the statement spelled them as', () => {
    const log = [
      `2026-12-01 10:00:00 UTC [42] STATEMENT:  ALTER ROLE app PASSWORD 'hunter2'`,
      `2026-12-01 10:00:00 UTC [42] STATEMENT:  CREATE USER x WITH ENCRYPTED PASSWORD 'it''s secret' VALID UNTIL 'infinity'`,
      `[ERROR] Query: CREATE USER 'a'@'%' IDENTIFIED BY 's3cr3t'`,
      `[ERROR] Query: ALTER USER a IDENTIFIED WITH mysql_native_password BY 'pw'`,
      `SET PASSWORD FOR a = PASSWORD('old-style')`,
    ].join('\n');
    const scrubbed = scrubSecrets(log);
    for (const secret of ['hunter2', "it''s secret", 's3cr3t', "'pw'", 'old-style']) expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain(`ALTER ROLE app PASSWORD '[redacted]'`);
    expect(scrubbed).toContain(`VALID UNTIL 'infinity'`);
  });

  it('gives tools an environment without another database\'s password, host or temp dir', () => {
    const previous = { ...process.env };
    Object.assign(process.env, { PGPASSWORD: 'x', PGHOST: 'db.example', MYSQL_PWD: 'y', TMPDIR: '/root-only', MARIADB_HOST: 'z' });
    try {
      const env = cleanEnv({ TMPDIR: '/mine' });
      expect(env.PGPASSWORD).toBeUndefined();
      expect(env.PGHOST).toBeUndefined();
      expect(env.MYSQL_PWD).toBeUndefined();
      expect(env.MARIADB_HOST).toBeUndefined();
      expect(env.TMPDIR).toBe('/mine');
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      for (const key of ['PGPASSWORD', 'PGHOST', 'MYSQL_PWD', 'TMPDIR', 'MARIADB_HOST']) delete process.env[key];
      Object.assign(process.env, previous);
    }
  });
});
