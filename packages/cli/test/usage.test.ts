import { describe, expect, test } from '@jest/globals';
import { runCli } from './run-cli.js';

const COMMANDS = ['preflight', 'verify-image', 'verify-attestation', 'promote', 'rollback', 'demo'];

describe('help and usage errors', () => {
  test('--help lists every command and documents the exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.exitCode).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(result.stdout).toMatch(/^ {2}2 {2}the input is wrong/m);
    expect(result.stdout).toMatch(/^ {2}4 {2}an unexpected error/m);
  });

  test.each(COMMANDS)('%s --help prints its usage and exits 0', async (command) => {
    const result = await runCli([command, '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Usage: digestline ${command}`);
    expect(result.stdout).toContain('Exit codes:');
  });

  test.each([
    ['an unknown command', ['deploy'], /unknown command "deploy"/],
    ['an unknown option', ['promote', '--force'], /Unknown option '--force'/],
    [
      'a missing required option',
      ['promote', 'registry.example/app', '--to', 'dev'],
      /--digest <sha256:…> is required/,
    ],
    [
      'a tag where a digest belongs',
      ['promote', 'registry.example/app', '--digest', 'v1', '--to', 'dev', '--pub', 'x', '--key', 'y'],
      /--digest: "v1" is a tag, not a digest/,
    ],
    [
      'a key file that does not exist',
      ['verify-image', 'registry.example/app:1', '--key', '/nonexistent/cosign.pub'],
      /--key \/nonexistent\/cosign.pub: no such file/,
    ],
    ['nothing to check', ['preflight', '--dir', '/'], /nothing to check in \//],
  ])('exits 2 on %s, saying what was wrong', async (_name, args, message) => {
    const result = await runCli(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
