export * from './nginx.js';
export * from './postgres.js';
export * from './prometheus.js';
export * from './registry.js';
export * from './run-action.js';
export * from './service.js';
export * from './tls.js';
export * from './util.js';
