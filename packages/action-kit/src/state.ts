import * as runner from './runner.js';

/** Saved by the main step; the runner hands saved state only to the post step, which is how it is recognised. */
export const IS_POST_STATE = 'isPost';

export function saveState(name: string, value: string | object): void {
  runner.saveState(name, typeof value === 'string' ? value : JSON.stringify(value));
}

export function getState(name: string): string {
  return runner.getState(name);
}

export function isPost(): boolean {
  return getState(IS_POST_STATE) === 'true';
}
