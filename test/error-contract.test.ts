import { DigestlineError } from '@digestline/base';
import { expect, test } from '@jest/globals';

// Loaded one after another, signing first: loaded in the opposite order inside Jest's VM, the Kubernetes
// client and sigstore's fetch meet in a require(esm) cycle of their shared proxy-agent dependency.
const names = ['signing', 'build', 'oci', 'promotion', 'scan', 'migrations', 'canary', 'cli', 'base'];
const modules: Record<string, Record<string, unknown>> = {};
for (const name of names) modules[name] = await import(`@digestline/${name}`);

type ErrorClass = new (...args: unknown[]) => Error;

/** Every exported class whose instances are errors, by package and export name. */
const errorClasses: [string, ErrorClass][] = Object.entries(modules).flatMap(([pkg, module]) =>
  Object.entries(module)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
    .filter(([, value]) => value !== DigestlineError)
    .map(([name, value]) => [`${pkg}.${name}`, value as ErrorClass] as [string, ErrorClass]),
);

/** Constructor shapes in use: (message, options?), (message, details), (reason, message). */
function instantiate(ErrorClass: ErrorClass): Error {
  const attempts: unknown[][] = [
    ['why it failed', { registry: 'registry.example' }],
    ['check', 'why it failed'],
  ];
  for (const args of attempts) {
    try {
      return new ErrorClass(...args);
    } catch {}
  }
  throw new Error(`${ErrorClass.name} could not be constructed for the check`);
}

test('the packages export their error classes', () => {
  expect(errorClasses.length).toBeGreaterThanOrEqual(15);
});

test.each(errorClasses)('%s is a DigestlineError with a stable code and a fault', (_, ErrorClass) => {
  const error = instantiate(ErrorClass);
  expect(error).toBeInstanceOf(DigestlineError);
  const { code, fault } = error as DigestlineError;
  expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
  expect(['user', 'environment', 'bug']).toContain(fault);
  expect(error.name).toBe(ErrorClass.name);
});
