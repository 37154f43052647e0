export * from './errors.js';
export * from './identity.js';
export * from './image.js';
export * from './legacy.js';
export * from './sign.js';
export * from './trust.js';
export * from './verify.js';
