import { describe, expect, test } from '@jest/globals';
import {
  ConfigurationError,
  DigestlineError,
  describeError,
  ExitCode,
  errorClass,
  exitCodeOf,
  faultOf,
  reportError,
} from '../src/errors.js';

class LostConnection extends errorClass('LostConnection', 'LOST', 'environment') {}

describe('faults', () => {
  test('a domain error carries its code and fault; anything else is a bug', () => {
    const error = new LostConnection('the database went away');
    expect(error).toBeInstanceOf(DigestlineError);
    expect(error).toMatchObject({ name: 'LostConnection', code: 'LOST', fault: 'environment' });
    expect(faultOf(error)).toBe('environment');
    expect(faultOf(new TypeError('x is undefined'))).toBe('bug');
    expect(faultOf('a string')).toBe('bug');
  });

  test('the exit code follows the fault', () => {
    expect(exitCodeOf(new ConfigurationError('bad input'))).toBe(ExitCode.user);
    expect(exitCodeOf(new LostConnection('gone'))).toBe(ExitCode.environment);
    expect(exitCodeOf(new RangeError('oops'))).toBe(ExitCode.bug);
    expect(new Set(Object.values(ExitCode)).size).toBe(Object.keys(ExitCode).length);
  });
});

describe('reports', () => {
  test("a user's mistake is its message alone, without the causes", () => {
    const error = new ConfigurationError('input "digest" must be sha256:<64 hex>', {
      cause: new Error('inner'),
    });
    expect(reportError(error)).toBe('input "digest" must be sha256:<64 hex>');
  });

  test('an outage keeps its cause chain, each message once', () => {
    const root = Object.assign(new Error(''), { code: 'ECONNREFUSED' });
    const fetchFailed = new TypeError('fetch failed', { cause: root });
    const error = new LostConnection('pushing failed: fetch failed', { cause: fetchFailed });
    expect(reportError(error)).toBe('pushing failed: fetch failed (caused by: ECONNREFUSED)');
  });

  test('errors from another realm are described by their shape', () => {
    const foreign = { message: 'fetch failed', cause: { message: 'connect ECONNREFUSED 127.0.0.1:9' } };
    expect(describeError(foreign)).toBe('fetch failed (caused by: connect ECONNREFUSED 127.0.0.1:9)');
  });

  test('an aggregate names every inner error, and a cycle ends', () => {
    const aggregate = new AggregateError([new Error('ipv4 refused'), new Error('ipv6 unreachable')], '');
    expect(describeError(aggregate)).toBe('ipv4 refused; ipv6 unreachable');
    const a: { message: string; cause?: unknown } = { message: 'a' };
    a.cause = { message: 'b', cause: a };
    expect(describeError(a)).toBe('a (caused by: b)');
  });
});
