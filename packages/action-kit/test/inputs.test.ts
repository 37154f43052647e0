import { describe, expect, it } from '@jest/globals';
import {
  booleanInput,
  ConfigurationError,
  durationInput,
  enumInput,
  listInput,
  optionalString,
  parseBoolean,
  parseDuration,
  parseList,
  parsePercentage,
  parsePositiveInteger,
  percentageInput,
  positiveIntegerInput,
  requiredString,
} from '../src/index.js';
import { fakeRunner } from './runner.js';

const runner = fakeRunner();

/** The ConfigurationError `fn` throws, so its message can be checked in full. */
function configurationError(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError, but nothing was thrown');
}

describe('string inputs', () => {
  it('reads the variable the runner sets: upper case, spaces to underscores, dashes kept', () => {
    process.env['INPUT_IMAGE-DIGEST'] = '  sha256:abc  ';
    process.env.INPUT_RELEASE_NAME = 'v1';
    expect(requiredString('image-digest')).toBe('sha256:abc');
    expect(requiredString('release name')).toBe('v1');
  });

  it('refuses an empty or blank required input, naming it', () => {
    runner.setInputs({ image: '   ' });
    const error = configurationError(() => requiredString('image'));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toMatch(/^Input "image" is required: /);
    expect(configurationError(() => requiredString('registry')).message).toContain('"registry"');
  });

  it('turns an empty optional input into undefined', () => {
    runner.setInputs({ password: '' });
    expect(optionalString('password')).toBeUndefined();
    expect(optionalString('never-set')).toBeUndefined();
    runner.setInputs({ password: ' hunter2 ' });
    expect(optionalString('password')).toBe('hunter2');
  });
});

describe('booleanInput', () => {
  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    [' true\n', true],
  ])('accepts the YAML 1.2 boolean %j', (value, expected) => {
    runner.setInputs({ push: value });
    expect(booleanInput('push', !expected)).toBe(expected);
  });

  it('falls back to the default when empty', () => {
    expect(booleanInput('push', true)).toBe(true);
    expect(booleanInput('push', false)).toBe(false);
  });

  it.each(['yes', 'no', 'on', 'off', 'y', '1', '0', 'tRUE'])(
    'refuses %j, which YAML 1.2 does not call a boolean',
    (value) => {
      runner.setInputs({ push: value });
      expect(configurationError(() => booleanInput('push', false)).message).toBe(
        `Input "push" must be a boolean (true or false, as YAML 1.2 spells them); got "${value}".`,
      );
    },
  );

  it('is the same rule without a runner', () => {
    expect(parseBoolean('False', 'x')).toBe(false);
    expect(configurationError(() => parseBoolean('', 'x')).message).toContain('Input "x"');
  });
});

describe('listInput', () => {
  it('splits on newlines and commas, trims and drops empties', () => {
    runner.setInputs({ tags: 'latest, v1.2.3\n\n  v1 ,,\r\nstable\n' });
    expect(listInput('tags')).toEqual(['latest', 'v1.2.3', 'v1', 'stable']);
  });

  it('is empty for an empty input', () => {
    expect(listInput('tags')).toEqual([]);
    expect(parseList(' , \n ')).toEqual([]);
  });
});

describe('enumInput', () => {
  const formats = ['sarif', 'json', 'table'] as const;

  it('returns an allowed value', () => {
    runner.setInputs({ format: ' json ' });
    expect(enumInput('format', formats, 'table')).toBe('json');
  });

  it('uses the default when empty, and requires a value when there is none', () => {
    expect(enumInput('format', formats, 'table')).toBe('table');
    expect(configurationError(() => enumInput('format', formats)).message).toMatch(
      /^Input "format" is required: /,
    );
  });

  it('refuses other values and lists the allowed ones', () => {
    runner.setInputs({ format: 'SARIF' });
    expect(configurationError(() => enumInput('format', formats)).message).toBe(
      'Input "format" must be one of "sarif", "json", "table"; got "SARIF".',
    );
  });
});

describe('durationInput', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1500],
    ['0s', 0],
  ])('reads %j as %d ms', (value, ms) => {
    runner.setInputs({ timeout: value });
    expect(durationInput('timeout')).toBe(ms);
  });

  it('uses the default when empty, and requires a value when there is none', () => {
    expect(durationInput('timeout', '2m')).toBe(120_000);
    expect(configurationError(() => durationInput('timeout')).message).toMatch(
      /^Input "timeout" is required: /,
    );
  });

  it('refuses a bare number as ambiguous and suggests units', () => {
    runner.setInputs({ timeout: '30' });
    const message = configurationError(() => durationInput('timeout')).message;
    expect(message).toContain('Input "timeout"');
    expect(message).toContain('"30"');
    expect(message).toContain('"30s"');
    expect(message).toContain('"30ms"');
  });

  it.each(['ten', '10 s', '10sec', '-5s', '1d', '5M', 's', '1m 30s', '1e3ms'])('refuses %j', (value) => {
    expect(configurationError(() => parseDuration(value, 'timeout')).message).toBe(
      `Input "timeout" must be a duration such as 500ms, 10s, 5m, 1h or 1m30s; got ${JSON.stringify(value)}.`,
    );
  });

  it('refuses durations longer than a Node.js timer can wait', () => {
    expect(parseDuration('596h', 'timeout')).toBe(596 * 3_600_000);
    expect(configurationError(() => parseDuration('597h', 'timeout')).message).toContain('at most 596h');
  });

  it("reports a broken default as a bug in the action, not as the user's mistake", () => {
    let thrown: unknown;
    try {
      durationInput('timeout', '30');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toBe('the default "30" of input "timeout" is invalid');
  });
});

describe('percentageInput', () => {
  it.each([
    ['5', 5],
    ['5%', 5],
    ['0.5%', 0.5],
    ['0', 0],
    ['100%', 100],
  ])('reads %j as %d', (value, expected) => {
    runner.setInputs({ 'max-error-rate': value });
    expect(percentageInput('max-error-rate')).toBe(expected);
  });

  it('uses the default when empty', () => {
    expect(percentageInput('max-error-rate', '1%')).toBe(1);
    expect(configurationError(() => percentageInput('max-error-rate')).message).toMatch(/is required: /);
  });

  it.each(['100.1', '150%', '-1', 'five', '%', '5%%', '0x10', '1e1', ''])('refuses %j', (value) => {
    expect(configurationError(() => parsePercentage(value, 'max-error-rate')).message).toBe(
      `Input "max-error-rate" must be a percentage between 0 and 100 such as 5, 5% or 0.5%; got ${JSON.stringify(value)}.`,
    );
  });
});

describe('positiveIntegerInput', () => {
  it('reads whole numbers from 1', () => {
    runner.setInputs({ replicas: '3' });
    expect(positiveIntegerInput('replicas')).toBe(3);
    expect(parsePositiveInteger('1', 'replicas')).toBe(1);
  });

  it('uses the default when empty', () => {
    expect(positiveIntegerInput('replicas', 2)).toBe(2);
    expect(configurationError(() => positiveIntegerInput('replicas')).message).toMatch(/is required: /);
  });

  it.each(['0', '1.5', '1e3', '-2', '+2', 'two', '9007199254740993'])('refuses %j', (value) => {
    runner.setInputs({ replicas: value });
    expect(configurationError(() => positiveIntegerInput('replicas', 1)).message).toBe(
      `Input "replicas" must be a whole number of at least 1 such as 3; got ${JSON.stringify(value)}.`,
    );
  });
});
