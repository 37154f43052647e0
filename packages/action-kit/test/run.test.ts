import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { ConfigurationError, isPost, run, setOutput } from '../src/index.js';
import { fakeRunner, parseCommandFile } from './runner.js';

const runner = fakeRunner();

/** The state the runner would hand to the post step after this main run. */
async function enterPostStep(): Promise<void> {
  for (const [name, value] of Object.entries(await runner.state())) process.env[`STATE_${name}`] = value;
}

describe('run', () => {
  it('runs main and leaves the step successful', async () => {
    await run(async () => setOutput('digest', 'sha256:abc'));
    expect(await runner.outputs()).toEqual({ digest: 'sha256:abc' });
    expect(runner.commands('error')).toEqual([]);
    expect(process.exitCode).toBeUndefined();
  });

  it('saves the post marker before main runs, so a failing main still gets its post step', async () => {
    let stateSeenByMain: Record<string, string> = {};
    await run(async () => {
      stateSeenByMain = parseCommandFile(await readFile(runner.files.state, 'utf8'));
      throw new Error('main failed half-way');
    });
    expect(stateSeenByMain).toEqual({ isPost: 'true' });
    expect(process.exitCode).toBe(1);
  });

  it('runs post, not main, in the post step', async () => {
    const calls: string[] = [];
    const main = async () => {
      calls.push('main');
    };
    const post = async () => {
      calls.push('post');
    };
    expect(isPost()).toBe(false);
    await run(main, post);
    await enterPostStep();
    expect(isPost()).toBe(true);
    await run(main, post);
    expect(calls).toEqual(['main', 'post']);
  });

  it('does nothing in the post step when the action has no post', async () => {
    let mainRuns = 0;
    const main = async () => {
      mainRuns++;
    };
    await run(main);
    await enterPostStep();
    await run(main);
    expect(mainRuns).toBe(1);
    expect(process.exitCode).toBeUndefined();
  });

  it('fails with only the message of a ConfigurationError: no stack, no cause', async () => {
    await expect(
      run(async () => {
        throw new ConfigurationError('Input "environment" must be one of "dev", "staging"; got "prod".', {
          cause: new Error('internal detail'),
        });
      }),
    ).resolves.toBeUndefined();
    expect(runner.commands('error')).toEqual([
      'Input "environment" must be one of "dev", "staging"; got "prod".',
    ]);
    expect(runner.stdout()).not.toContain('    at ');
    expect(runner.stdout()).not.toContain('internal detail');
    expect(process.exitCode).toBe(1);
  });

  it('fails with the message and its causes for other errors, and puts the stack in the debug log', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' });
    await run(async () => {
      throw new Error('registry push failed', { cause: new TypeError('fetch failed', { cause: refused }) });
    });
    expect(runner.commands('error')).toEqual([
      'registry push failed (caused by: fetch failed (caused by: connect ECONNREFUSED 127.0.0.1:5000))',
    ]);
    const debug = runner.commands('debug').join('\n');
    expect(debug).toMatch(/^Error: registry push failed\n\s+at /m);
    expect(debug).toMatch(/^TypeError: fetch failed\n\s+at /m);
    expect(process.exitCode).toBe(1);
  });

  it('does not repeat a cause the message already quotes, and explains empty connection errors', async () => {
    const dualStack = new AggregateError(
      [new Error('connect ECONNREFUSED ::1:443'), new Error('connect ECONNREFUSED 127.0.0.1:443')],
      '',
    );
    const fetchFailed = new TypeError('fetch failed', { cause: dualStack });
    await run(async () => {
      throw new Error(`GitHub API unreachable: ${fetchFailed.message}`, { cause: fetchFailed });
    });
    expect(runner.commands('error')).toEqual([
      'GitHub API unreachable: fetch failed (caused by: connect ECONNREFUSED ::1:443; connect ECONNREFUSED 127.0.0.1:443)',
    ]);
  });

  it('reports thrown non-errors and survives a cause cycle', async () => {
    await run(async () => {
      throw 'a plain string';
    });
    const looped = new Error('outer');
    looped.cause = new Error('inner', { cause: looped });
    await run(async () => {
      throw looped;
    });
    expect(runner.commands('error')).toEqual(['a plain string', 'outer (caused by: inner)']);
  });

  it('fails a post step that throws', async () => {
    process.env.STATE_isPost = 'true';
    await run(
      async () => {},
      async () => {
        throw new Error('cleanup failed');
      },
    );
    expect(runner.commands('error')).toEqual(['cleanup failed']);
    expect(process.exitCode).toBe(1);
  });
});
