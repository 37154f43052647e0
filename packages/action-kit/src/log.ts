import * as core from '@actions/core';
import type { Logger } from '@digestline/base';

export interface AnnotationLocation {
  file?: string;
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  title?: string;
}

const ANNOTATE = { error: core.error, warning: core.warning, notice: core.notice } as const;

export function annotate(
  level: 'error' | 'warning' | 'notice',
  message: string,
  location?: AnnotationLocation,
): void {
  const properties: core.AnnotationProperties = {
    title: location?.title,
    file: location?.file,
    startLine: location?.line,
    startColumn: location?.column,
    endLine: location?.endLine,
    endColumn: location?.endColumn,
  };
  // Unset keys would still make @actions/core write `::error ::message` with a stray space.
  for (const key of Object.keys(properties) as (keyof core.AnnotationProperties)[]) {
    if (properties[key] === undefined) delete properties[key];
  }
  ANNOTATE[level](message, properties);
}

/** The runner's adapter of the one logger shape: pass it to domain packages. Warnings become annotations. */
export const log: Logger & { group<T>(name: string, fn: () => Promise<T>): Promise<T> } = {
  info(message: string): void {
    core.info(message);
  },
  warning(message: string): void {
    core.warning(message);
  },
  debug(message: string): void {
    core.debug(message);
  },
  group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return core.group(name, fn);
  },
};
