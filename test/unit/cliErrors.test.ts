import { describe, expect, it } from 'vitest';
import { reportError } from '../../client/errorReport';
import { CliError, EXIT } from '../../client/exitCodes';

describe('errors at the top of the CLI', () => {
  it('what fraisier says on purpose keeps its exit code and message, also as JSON', () => {
    const r = reportError(new CliError('fraises.yaml: fraises.x: unknown key', EXIT.badInput), true);
    expect(r).toEqual({
      exitCode: EXIT.badInput,
      stderr: 'fraisier: fraises.yaml: fraises.x: unknown key\n',
      json: { error: 'fraises.yaml: fraises.x: unknown key', exitCode: EXIT.badInput, details: null },
    });
  });

  it("fraisier's own bug is an internal error (exit 1, never 2), with its stack and a hint to report it", () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'provider')");
    const r = reportError(bug, false);
    expect(r.exitCode).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/^fraisier: internal error in fraisier \(not a problem with your input\): please report it/);
    expect(r.stderr).toContain("TypeError: Cannot read properties of undefined (reading 'provider')");
    expect(r.stderr).toMatch(/\n\s+at /);
    expect(reportError(bug, true).json).toMatchObject({ internal: true, exitCode: EXIT.failed });
  });
});
