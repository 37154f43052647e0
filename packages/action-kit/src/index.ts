import * as core from '@actions/core';

export function hello(name: string): string {
  core.debug(`hello ${name}`);
  return `hello ${name}`;
}
