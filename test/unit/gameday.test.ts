import { describe, expect, it } from 'vitest';
import { humanTimeline, scoreRunbook } from '../../src/gameday/score.js';
import type { GamedayCommand, Journal } from '../../src/journal/types.js';
import { loadFixture } from '../support/comparison.js';

const steps = [
  { phase: 'verify-backup', drillMs: 40, command: 'runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_restore --list ${PRIMARY_STORAGE}/pg-dump/backup-1/database.dump' },
  { phase: 'restore', drillMs: 60, command: "runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -q -h 127.0.0.1 -p ${RESTORE_PORT} -U postgres --dbname=postgres -f ${PRIMARY_STORAGE}/pg-dump/backup-1/globals.sql" },
  { phase: 'restore', drillMs: 300, command: 'runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_restore --create --jobs=2 -h 127.0.0.1 -p ${RESTORE_PORT} -U postgres --dbname=postgres ${PRIMARY_STORAGE}/pg-dump/backup-1/database.dump' },
];
const ran = (command: string, exitCode: number | null, step?: number): GamedayCommand => ({ command, startedAtMs: 1000, durationMs: 10, exitCode, ...(step ? { step } : {}) });

describe('scoreRunbook', () => {
  it('matches a command to the step whose shape it has, with the team\'s own values in the parameters and the program by its name', () => {
    const { commands, steps: scored } = scoreRunbook(steps, [
      ran('pg_restore --list /srv/backups/pg-dump/backup-1/database.dump', 0),
      ran('sudo -u postgres psql -X -q -h 127.0.0.1 -p 5433 -U postgres --dbname=postgres -f /srv/backups/pg-dump/backup-1/globals.sql', 0),
      ran('ls /srv/backups', 0),
    ]);
    expect(commands.map((command) => command.step)).toEqual([1, 2, undefined]);
    expect(scored.map((step) => step.outcome)).toEqual(['ran', 'ran', 'not-run']);
  });

  it('a step is failed when every command run as it failed, ran when one succeeded; a named step wins over the shape', () => {
    const { steps: scored } = scoreRunbook(steps, [
      ran('pg_restore --list /gone/pg-dump/backup-1/database.dump', 1),
      ran('pg_restore --create --jobs=2 -h 127.0.0.1 -p 5433 -U postgres --dbname=postgres /x/pg-dump/backup-1/database.dump', 1),
      ran('pg_restore --create --jobs=2 -h 127.0.0.1 -p 5433 -U postgres --dbname=postgres /y/pg-dump/backup-1/database.dump', 0),
      ran('my-own-restore-script', null, 2),
    ]);
    expect(scored.map((step) => step.outcome)).toEqual(['failed', 'failed', 'ran']);
  });

  it('a parameter stands for one word: a command with other arguments is not the step', () => {
    const { commands } = scoreRunbook(steps, [ran('pg_restore --list --verbose /srv/pg-dump/backup-1/database.dump', 0), ran('pg_restore --list /a b/pg-dump/backup-1/database.dump', 0)]);
    expect(commands.map((command) => command.step)).toEqual([undefined, undefined]);
  });
});

describe('humanTimeline', () => {
  const base = loadFixture('passed');
  const faultAt = base.fault!.atMs;
  const journal: Journal = {
    ...base,
    gameday: {
      announced: true,
      timeLimitMs: 60_000,
      ended: 'declared',
      marks: [
        { atMs: faultAt - 500, label: 'detected', from: 'page' },
        { atMs: faultAt + 1200, label: 'Detected', from: 'shell' },
        { atMs: faultAt + 2500, label: 'decided to restore', from: 'page' },
      ],
      commands: [ran('pg_restore …', 0)].map((command) => ({ ...command, startedAtMs: faultAt + 3000 })),
      restored: { name: 'spare', declaredAtMs: faultAt + 9000 },
    },
  };

  it('counts each moment from the fault, a mark before the fault not as its detection, what never happened as missing', () => {
    const moments = Object.fromEntries(humanTimeline(journal).map((moment) => [moment.label, moment.sinceFaultMs]));
    // The fixture's clock reads fractional milliseconds: a difference is exact only to rounding.
    const near = (ms: number) => expect.closeTo(ms, 6);
    expect(moments).toMatchObject({ detected: near(1200), 'decided to restore': near(2500), 'first command': near(3000), 'restore started': null, 'declared restored': near(9000) });
    const service = base.events.find((event) => event.name === 'service-restored')!.atMs;
    expect(moments['service back (first write acknowledged)']).toBe(service - faultAt);
  });

  it('is empty for a drill that was no game day', () => {
    expect(humanTimeline(base)).toEqual([]);
  });
});
