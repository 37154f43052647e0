import { parseAnnotations, parseCommandFile, runAction } from '@digestline/local';
import { describe, expect, test } from '@jest/globals';

describe('runAction drives the built fixture action like a runner', () => {
  test('inputs become outputs, state and a job summary', async () => {
    const result = await runAction('echo', { inputs: { message: 'ab', repeat: '3' } });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toEqual({ echoed: 'ababab', length: '6' });
    expect(result.state).toMatchObject({ echoed: 'ababab' });
    expect(result.summary).toContain('| message | ab |');
    expect(result.annotations).toEqual([]);
  });

  test('the post step receives the state the main step saved', async () => {
    const main = await runAction('echo', { inputs: { message: 'xy' } });
    const post = await runAction('echo', { inputs: { message: 'xy' }, state: main.state });
    expect(post.exitCode).toBe(0);
    expect(post.outputs).toEqual({ 'post-saw': 'xy' });
  });

  test('a ConfigurationError fails with its message only, plus the annotation pointing at the file', async () => {
    const result = await runAction('echo', { inputs: { message: 'x', mode: 'configuration-error' } });
    expect(result.exitCode).toBe(1);
    expect(result.annotations).toEqual([
      {
        level: 'error',
        message: 'the message is not allowed here',
        file: 'config/echo.yml',
        line: 3,
        col: 7,
      },
      {
        level: 'error',
        message: 'Input "mode" asked for a configuration error; use mode: ok to succeed.',
      },
    ]);
    expect(result.outputs).toEqual({});
  });

  test('any other error fails with its message and its cause', async () => {
    const result = await runAction('echo', { inputs: { message: 'x', mode: 'crash' } });
    expect(result.exitCode).toBe(1);
    const errors = result.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain('echo crashed');
    expect(errors[0]?.message).toContain('the disk is full');
  });

  test('a missing required input fails and names the input', async () => {
    const result = await runAction('echo');
    expect(result.exitCode).toBe(1);
    expect(result.annotations.map((a) => a.message).join('\n')).toMatch(/"message"/);
  });

  test('an invalid input value fails and names the input and the value', async () => {
    const result = await runAction('echo', { inputs: { message: 'x', repeat: '1.5' } });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toMatch(/"repeat".*1\.5/);
  });

  test('a secret input is masked before the action prints it', async () => {
    const password = 'pa55-w0rd-that-must-not-leak';
    const result = await runAction('echo', { inputs: { message: 'x', password } });
    expect(result.exitCode).toBe(0);
    expect(result.masks).toContain(password);
    expect(result.log).toContain('using password ***');
    expect(result.log).not.toContain(password);
    expect(result.stdout.indexOf(`::add-mask::${password}`)).toBeLessThan(
      result.stdout.indexOf('using password'),
    );
  });
});

describe('runner protocol parsing', () => {
  test('reads name=value lines and heredoc values from command files', () => {
    const text = 'a=1\nmulti<<ghadelimiter_1\nline one\nline=two\nghadelimiter_1\nempty=\n';
    expect(parseCommandFile(text)).toEqual({ a: '1', multi: 'line one\nline=two', empty: '' });
  });

  test('refuses an unterminated heredoc', () => {
    expect(() => parseCommandFile('x<<EOF\nvalue\n')).toThrow(/unterminated value for "x"/);
  });

  test('reads annotation properties and unescapes data', () => {
    const stdout =
      'plain\n::warning file=a%2Cb.sql,line=4,col=2,endLine=5,title=T%3A1::first%0Asecond 100%25\n';
    expect(parseAnnotations(stdout)).toEqual([
      {
        level: 'warning',
        message: 'first\nsecond 100%',
        file: 'a,b.sql',
        line: 4,
        col: 2,
        endLine: 5,
        title: 'T:1',
      },
    ]);
  });
});
