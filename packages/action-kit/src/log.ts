import type { Logger } from '@digestline/base';
import { type AnnotationProperties, annotation, debug, group, info } from './runner.js';

export interface AnnotationLocation {
  file?: string;
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  title?: string;
}

export function annotate(
  level: 'error' | 'warning' | 'notice',
  message: string,
  location?: AnnotationLocation,
): void {
  const properties: AnnotationProperties = {
    title: location?.title,
    file: location?.file,
    startLine: location?.line,
    startColumn: location?.column,
    endLine: location?.endLine,
    endColumn: location?.endColumn,
  };
  annotation(level, message, properties);
}

/** The runner's adapter of the one logger shape: pass it to domain packages. Warnings become annotations. */
export const log: Logger & { group<T>(name: string, fn: () => Promise<T>): Promise<T> } = {
  info(message: string): void {
    info(message);
  },
  warning(message: string): void {
    annotation('warning', message);
  },
  debug(message: string): void {
    debug(message);
  },
  group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return group(name, fn);
  },
};
