import { ScanInputError } from '../errors.js';

/**
 * The part of a report format a reader relies on. `null` stands for an absent optional value, as Go's
 * encoders write it; anything not named is not looked at.
 */
export type Shape =
  | 'string'
  /** A string with something in it: ids and names. */
  | 'name'
  | 'number'
  | 'integer'
  | 'boolean'
  | { list: Shape }
  | { map: Shape }
  | { fields: Record<string, Shape>; required?: readonly string[] }
  | { either: readonly Shape[] };

const kindOf = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'an object'
        : typeof value === 'string'
          ? value === ''
            ? 'an empty string'
            : 'a string'
          : `a ${typeof value}`;

function expected(shape: Shape): string {
  if (typeof shape === 'string') {
    return {
      string: 'a string',
      name: 'a non-empty string',
      number: 'a number',
      integer: 'a whole number',
      boolean: 'true or false',
    }[shape];
  }
  if ('list' in shape) return 'a list';
  if ('either' in shape) return shape.either.map(expected).join(' or ');
  return 'an object';
}

function fits(value: unknown, shape: Shape): boolean {
  if (typeof shape === 'string') {
    switch (shape) {
      case 'string':
        return typeof value === 'string';
      case 'name':
        return typeof value === 'string' && value.trim() !== '';
      case 'number':
        return typeof value === 'number';
      case 'integer':
        return Number.isSafeInteger(value);
      default:
        return typeof value === 'boolean';
    }
  }
  if ('list' in shape) return Array.isArray(value);
  if ('either' in shape) return shape.either.some((option) => fits(value, option));
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const pathOf = (parent: string, key: string | number) =>
  typeof key === 'number'
    ? `${parent}[${key}]`
    : /^[A-Za-z_$][\w$-]*$/.test(key)
      ? `${parent ? `${parent}.` : ''}${key}`
      : `${parent}[${JSON.stringify(key.slice(0, 40))}]`;

type Check = (value: unknown) => boolean;

/**
 * The shape as one closure per node: a pass that only answers whether the document fits, building no
 * paths and no entry arrays, which on a report of 100,000 findings costs a tenth of the walk that names
 * the failing value. That walk runs only when this one says no.
 */
const PRIMITIVE: Record<Extract<Shape, string>, Check> = {
  string: (value) => typeof value === 'string',
  name: (value) => typeof value === 'string' && value.trim() !== '',
  number: (value) => typeof value === 'number',
  integer: (value) => Number.isSafeInteger(value),
  boolean: (value) => typeof value === 'boolean',
};

export function compile(shape: Shape): Check {
  if (typeof shape === 'string') return PRIMITIVE[shape];
  if ('either' in shape) {
    const options = shape.either.map((option) => ({ option, check: compile(option) }));
    return (value) => {
      const chosen = options.find(({ option }) => fits(value, option));
      return chosen?.check(value) === true;
    };
  }
  if ('list' in shape) {
    const item = compile(shape.list);
    return (value) => {
      if (!Array.isArray(value)) return false;
      for (let i = 0; i < value.length; i++) if (!item(value[i])) return false;
      return true;
    };
  }
  if ('map' in shape) {
    const item = compile(shape.map);
    return (value) => {
      if (!fits(value, shape)) return false;
      for (const key in value as object) {
        if (Object.hasOwn(value as object, key) && !item((value as Record<string, unknown>)[key]))
          return false;
      }
      return true;
    };
  }
  const required = shape.required ?? [];
  // A name that objects inherit (`constructor`) is read only as the document's own.
  const fields = Object.entries(shape.fields).map(([key, field]) => ({
    key,
    check: compile(field),
    inherited: key in Object.prototype,
  }));
  return (value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const object = value as Record<string, unknown>;
    for (let i = 0; i < required.length; i++) {
      const present = object[required[i] as string];
      if (present === undefined || present === null) return false;
    }
    for (let i = 0; i < fields.length; i++) {
      const { key, check, inherited } = fields[i] as { key: string; check: Check; inherited: boolean };
      const item = !inherited || Object.hasOwn(object, key) ? object[key] : undefined;
      if (item === null) delete object[key];
      else if (item !== undefined && !check(item)) return false;
    }
    return true;
  };
}

/** The test of one primitive shape as an expression on the variable `v`, for {@link generate}. */
const PRIMITIVE_SOURCE: Record<Extract<Shape, string>, (v: string) => string> = {
  string: (v) => `typeof ${v} === 'string'`,
  name: (v) => `typeof ${v} === 'string' && ${v}.trim() !== ''`,
  number: (v) => `typeof ${v} === 'number'`,
  integer: (v) => `Number.isSafeInteger(${v})`,
  boolean: (v) => `typeof ${v} === 'boolean'`,
};

/**
 * The same check as {@link compile}, written out as the source of one function per object shape with
 * its field names as constants: each field is then a named property load that V8 inlines, where the
 * closures' `object[key]` with a changing key goes through its slowest lookup every time (half the
 * check's cost on 100,000 findings). Lists and maps call the function of their items; `either` keeps
 * the closure. Made once per shape, from our own constant shapes (nothing from a report).
 */
function generate(shape: Shape): Check {
  const children: Check[] = [];
  const child = (sub: Shape) => `c[${children.push(generate(sub)) - 1}]`;
  // The test that `x` fits `sub`, as a statement that returns false when it does not.
  const test = (sub: Shape): string => {
    if (typeof sub === 'string') return `if (!(${PRIMITIVE_SOURCE[sub]('x')})) return false;`;
    if ('either' in sub) return `if (!${child(sub)}(x)) return false;`;
    if ('list' in sub) {
      const item = sub.list;
      // A list of primitives is tested inline; of anything else, by the function of its items.
      const each =
        typeof item === 'string'
          ? `if (!(${PRIMITIVE_SOURCE[item]('x[i]')})) return false;`
          : `if (!${child(item)}(x[i])) return false;`;
      return `if (!Array.isArray(x)) return false; for (let i = 0; i < x.length; i++) { ${each} }`;
    }
    return `if (!${child(sub)}(x)) return false;`;
  };
  if (typeof shape === 'object' && 'either' in shape) return compile(shape);
  if (typeof shape === 'string' || 'list' in shape) {
    const body = `return function (x) { ${test(shape)} return true; };`;
    return new Function('c', body)(children) as Check;
  }
  if ('map' in shape) {
    const item = child(shape.map);
    const body = `return function (v) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
      for (const key in v) if (Object.hasOwn(v, key) && !${item}(v[key])) return false;
      return true;
    };`;
    return new Function('c', body)(children) as Check;
  }
  const lines = ["if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;", 'let x;'];
  for (const key of shape.required ?? []) {
    const name = JSON.stringify(key);
    lines.push(`x = v[${name}]; if (x === undefined || x === null) return false;`);
  }
  for (const [key, field] of Object.entries(shape.fields)) {
    const name = JSON.stringify(key);
    // A name that objects inherit (`constructor`) is read only as the document's own.
    const read =
      key in Object.prototype ? `Object.hasOwn(v, ${name}) ? v[${name}] : undefined` : `v[${name}]`;
    lines.push(
      `x = ${read}; if (x === null) delete v[${name}]; else if (x !== undefined) { ${test(field)} }`,
    );
  }
  const body = `return function (v) { ${lines.join('\n')} return true; };`;
  return new Function('c', body)(children) as Check;
}

/** The generated check, or the closures where the runtime forbids making code from strings. */
export function checkerOf(shape: Shape): Check {
  try {
    return generate(shape);
  } catch (error) {
    if (error instanceof EvalError) return compile(shape);
    throw error;
  }
}

const compiled = new WeakMap<object, Check>();

/**
 * Throws a ScanInputError naming the first value in `value` that does not fit `shape`, with its path
 * in the document. The walk follows the shape, which is shallow, so nesting in the report costs nothing.
 * Fields the shape names that hold `null` are removed on the way, so readers see them as absent.
 */
export function checkShape(value: unknown, shape: Shape, context: { file: string; format: string }): void {
  if (typeof shape === 'object') {
    let check = compiled.get(shape);
    if (check === undefined) {
      check = checkerOf(shape);
      compiled.set(shape, check);
    }
    if (check(value)) return;
  }
  nameTheMisfit(value, shape, context);
}

function nameTheMisfit(value: unknown, shape: Shape, context: { file: string; format: string }): void {
  const fail = (path: string, found: unknown, wanted: Shape | 'present') => {
    const what = wanted === 'present' ? 'missing' : `${kindOf(found)}, not ${expected(wanted)}`;
    throw new ScanInputError(
      `${context.file} does not read as a ${context.format} report: \`${path || '(top level)'}\` is ${what}. Pass the scanner's own JSON output, unchanged.`,
      { file: context.file },
    );
  };
  const visit = (node: unknown, at: Shape, path: string): void => {
    if (!fits(node, at)) fail(path, node, at);
    if (typeof at === 'string') return;
    if ('either' in at) {
      const chosen = at.either.find((option) => fits(node, option)) as Shape;
      visit(node, chosen, path);
      return;
    }
    if ('list' in at) {
      (node as unknown[]).forEach((item, index) => {
        visit(item, at.list, pathOf(path, index));
      });
      return;
    }
    const object = node as Record<string, unknown>;
    if ('map' in at) {
      for (const [key, item] of Object.entries(object)) visit(item, at.map, pathOf(path, key));
      return;
    }
    for (const key of at.required ?? []) {
      if (object[key] === undefined || object[key] === null) fail(pathOf(path, key), undefined, 'present');
    }
    for (const [key, field] of Object.entries(at.fields)) {
      const item = Object.hasOwn(object, key) ? object[key] : undefined;
      if (item === null) delete object[key];
      else if (item !== undefined) visit(item, field, pathOf(path, key));
    }
  };
  visit(value, shape, '');
}
