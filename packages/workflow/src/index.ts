export * from './errors.js';
export * from './executor.js';
export {
  coerceString,
  condition,
  evaluate,
  interpolate,
  type Value,
  withStatusCheck,
} from './expressions.js';
export * from './gate.js';
export { loadWorkflow, validate } from './load.js';
export * from './permissions.js';
export { STAND_INS, type StandIn, type StandInContext } from './stand-ins.js';
export * from './types.js';
