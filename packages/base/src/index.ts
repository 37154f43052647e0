export * from './child-env.js';
export * from './errors.js';
export * from './logger.js';
