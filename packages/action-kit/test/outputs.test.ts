import { describe, expect, it } from '@jest/globals';
import { annotate, getState, log, saveState, secret, setOutput, setOutputs } from '../src/index.js';
import { fakeRunner } from './runner.js';

const runner = fakeRunner();

describe('outputs', () => {
  it('writes strings as they are, numbers and booleans as text, objects as JSON', async () => {
    setOutput('digest', 'sha256:abc');
    setOutput('count', 3);
    setOutput('pushed', false);
    setOutput('report', { findings: [{ id: 'CVE-2024-1' }] });
    setOutput('multi-line', 'a\nb');
    expect(await runner.outputs()).toEqual({
      digest: 'sha256:abc',
      count: '3',
      pushed: 'false',
      report: '{"findings":[{"id":"CVE-2024-1"}]}',
      'multi-line': 'a\nb',
    });
  });

  it('writes several outputs, an undefined one as empty', async () => {
    setOutputs({ digest: 'sha256:abc', 'previous-digest': undefined, tags: ['v1', 'latest'] });
    expect(await runner.outputs()).toEqual({
      digest: 'sha256:abc',
      'previous-digest': '',
      tags: '["v1","latest"]',
    });
  });
});

describe('state', () => {
  it('saves state for the post step, objects as JSON, and reads what the runner hands back', async () => {
    saveState('digest', 'sha256:abc');
    saveState('pushed', { tags: ['v1'] });
    expect(await runner.state()).toEqual({ digest: 'sha256:abc', pushed: '{"tags":["v1"]}' });
    expect(getState('digest')).toBe('');
    process.env.STATE_digest = 'sha256:abc';
    expect(getState('digest')).toBe('sha256:abc');
  });
});

describe('secret', () => {
  it('registers a secret with the runner and returns it', () => {
    expect(secret('hunter2-token')).toBe('hunter2-token');
    expect(runner.commands('add-mask')).toContain('hunter2-token');
    expect(runner.commands('add-mask')).toContain(Buffer.from('hunter2-token').toString('base64'));
  });

  it('registers each line of a multi-line secret, because the runner masks line by line', () => {
    const pem = [
      '-----BEGIN EC PRIVATE KEY-----',
      'MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oJ3tZvbx0Dp3oAoGCCqGSM49',
      'AwEHoUQDQgAE6n4Hh2v5V4yYwGmqu6BZSE6T9xg0GmkOqC9a1Fr9bS2Vh3eDsE2f',
      '-----END EC PRIVATE KEY-----',
      '',
    ].join('\n');
    secret(pem);
    const masks = runner.commands('add-mask');
    expect(masks).toContain(pem);
    expect(masks).toContain('MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oJ3tZvbx0Dp3oAoGCCqGSM49');
    expect(masks).toContain('AwEHoUQDQgAE6n4Hh2v5V4yYwGmqu6BZSE6T9xg0GmkOqC9a1Fr9bS2Vh3eDsE2f');
    expect(masks).not.toContain('');
  });

  it('leaves the braces of a JSON key file unmasked', () => {
    secret('{\n  "private_key": "abcdefgh"\n}');
    const masks = runner.commands('add-mask');
    expect(masks).toContain('"private_key": "abcdefgh"');
    expect(masks).not.toContain('{');
    expect(masks).not.toContain('}');
  });

  it('registers nothing for an absent or empty secret', () => {
    expect(secret(undefined)).toBeUndefined();
    expect(secret('')).toBe('');
    expect(runner.commands('add-mask')).toEqual([]);
  });
});

describe('annotations and log', () => {
  it('points an annotation at a file, line and column', () => {
    annotate('error', 'DROP COLUMN on a table in use', {
      file: 'db/migrations/003.sql',
      line: 3,
      column: 5,
      endLine: 3,
      endColumn: 30,
      title: 'unsafe migration',
    });
    annotate('warning', 'no SBOM attached');
    annotate('notice', 'promoted', { file: 'deploy.yml' });
    expect(
      runner
        .stdout()
        .split('\n')
        .filter((line) => /^::(error|warning|notice)/.test(line)),
    ).toEqual([
      '::error title=unsafe migration,file=db/migrations/003.sql,line=3,endLine=3,col=5,endColumn=30::DROP COLUMN on a table in use',
      '::warning::no SBOM attached',
      '::notice file=deploy.yml::promoted',
    ]);
  });

  it('logs info plainly, debug as a debug command, and groups around a task', async () => {
    log.info('pushing 3 tags');
    log.debug('HEAD /v2/app/manifests/v1');
    const result = await log.group('verify signature', async () => {
      log.info('inside');
      return 42;
    });
    expect(result).toBe(42);
    expect(runner.stdout()).toBe(
      'pushing 3 tags\n::debug::HEAD /v2/app/manifests/v1\n::group::verify signature\ninside\n::endgroup::\n',
    );
  });
});
