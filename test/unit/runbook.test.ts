import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { parameterise, runbookMarkdown, runbookOf } from '../../src/report/runbook.js';

const load = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;
const origin = { firedrill: '0.1.0', generatedAt: '2026-12-01T00:00:00.000Z', journalPath: 'reports/run/drill/journal.json' };

describe('runbook', () => {
  it("puts parameters in place of this run's directories, ports and bad transaction, and lists each with the drill's value", () => {
    const journal = load('passed');
    const { parameters, steps } = runbookOf(journal);
    const procedure = steps.map((step) => step.command).join('\n');
    for (const instance of journal.instances!) expect(procedure).not.toContain(instance.location);
    expect(procedure).toContain('recovery_target_xid=${BAD_TRANSACTION}');
    expect(procedure).toContain('port=${RESTORE_PORT}');
    expect(parameters.find((parameter) => parameter.name === 'BAD_TRANSACTION')?.value).toBe(journal.fault!.point.transaction);
    expect(parameters.find((parameter) => parameter.name === 'RESTORE_PORT')?.value).toBe(String(journal.instances!.find((instance) => instance.name === 'restore')!.ports![0]));
    // Every parameter listed is used, and none of their drill values is left in the procedure.
    for (const parameter of parameters) {
      expect(procedure).toContain(`\${${parameter.name}}`);
      if (parameter.value.startsWith('/')) expect(procedure).not.toContain(parameter.value);
    }
  });

  it('names a number only as a whole word, a path only where a path component ends, an offset only after its option', () => {
    const parameters = [
      { name: 'PORT', meaning: '', value: '5432' },
      { name: 'DIR', meaning: '', value: '/tmp/run/restore' },
      { name: 'OFFSET', meaning: '', value: '1234', after: '-position=' },
    ];
    expect(parameterise('psql -p 5432 --jobs=54321 /tmp/run/restore/data /tmp/run/restored', parameters)).toBe('psql -p ${PORT} --jobs=54321 ${DIR}/data /tmp/run/restored');
    expect(parameterise('mariadb-binlog --stop-position=1234 --start-position=12345 blk 1234', parameters)).toBe('mariadb-binlog --stop-position=${OFFSET} --start-position=12345 blk 1234');
  });

  it('keeps its version while the procedure is the same, and raises it when the procedure changes', () => {
    const journal = load('passed');
    const first = runbookMarkdown(journal, origin);
    expect(first).toMatchObject({ version: 1, changed: true });
    expect(first.text).toMatch(/^---\nscenario: /);
    expect(first.text).toContain(`last-passing-drill: ${journal.finishedAt}`);
    expect(first.text).toContain('## Procedure');
    // The same drill again, later: same procedure, same version.
    const again = runbookMarkdown(journal, { ...origin, generatedAt: '2026-12-02T00:00:00.000Z' }, first.text);
    expect(again).toMatchObject({ version: 1, changed: false });
    // A drill whose restore ran another command: a new version.
    const changed: Journal = { ...journal, commands: journal.commands.map((command) => (command.phase === 'fetch' ? { ...command, command: `${command.command} --checkpoint` } : command)) };
    expect(runbookMarkdown(changed, origin, again.text)).toMatchObject({ version: 2, changed: true });
  });

  it('says so when the locate step names another transaction than the bad one', () => {
    const journal = load('passed');
    const located = journal.fault!.located!;
    const misled: Journal = { ...journal, fault: { ...journal.fault!, located: { ...located, matches: false } } };
    expect(runbookMarkdown(misled, origin).text).toContain("**not** the fault's transaction");
    expect(runbookMarkdown(journal, origin).text).toContain('the bad one');
  });
});
