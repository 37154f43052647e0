import { describe, expect, it } from '@jest/globals';
import { checkerOf, compile, type Shape } from '../src/readers/shape.js';

// Every kind of shape, nested the ways the readers nest them.
// `constructor` is added below: a literal key of that name is typed as the inherited property.
const SHAPE = {
  required: ['id'],
  fields: {
    id: 'name',
    title: 'string',
    score: 'number',
    line: 'integer',
    fixed: 'boolean',
    tags: { list: 'string' },
    lines: { list: { list: 'integer' } },
    items: { list: { required: ['name'], fields: { name: 'name', count: 'integer' } } },
    cvss: { map: { fields: { V3Score: 'number' } } },
    target: { either: ['string', { fields: { userInput: 'string' } }] },
  } as Record<string, Shape>,
} satisfies Shape;
Object.assign(SHAPE.fields, { constructor: 'string' as Shape });

/** A small seeded generator (mulberry32), so a failure names a value that can be made again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 2 ? 7 : 10));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return '';
    case 2:
      return 'text';
    case 3:
      return 7;
    case 4:
      return 1.5;
    case 5:
      return true;
    case 6:
      return undefined;
    case 7:
      return Array.from({ length: Math.floor(next() * 3) }, () => value(next, depth + 1));
    default: {
      const keys = ['id', 'title', 'score', 'line', 'fixed', 'constructor', 'tags', 'lines', 'items', 'cvss'];
      const object: Record<string, unknown> = {};
      for (const key of [...keys, 'target', 'name', 'count', 'V3Score', 'userInput', 'nvd']) {
        if (next() < 0.5) object[key] = value(next, depth + 1);
      }
      return object;
    }
  }
}

/** A document that mostly fits, with one field changed at random: the closures and the code must agree. */
function nearlyFitting(next: () => number): Record<string, unknown> {
  const document: Record<string, unknown> = {
    id: 'CVE-1',
    title: 't',
    score: 5,
    line: 3,
    fixed: false,
    tags: ['a'],
    lines: [[1, 2]],
    items: [{ name: 'n', count: 1 }],
    cvss: { nvd: { V3Score: 9.8 } },
    target: { userInput: 'x' },
  };
  const keys = Object.keys(document);
  document[keys[Math.floor(next() * keys.length)] as string] = value(next, 1);
  return document;
}

describe('shape checks', () => {
  it('the generated check answers as the closures do, on 3,000 seeded documents', () => {
    const generated = checkerOf(SHAPE);
    const closures = compile(SHAPE);
    const next = random(16);
    let fitting = 0;
    for (let i = 0; i < 3_000; i++) {
      const document = i % 2 === 0 ? nearlyFitting(next) : value(next, 0);
      const copy = structuredClone(document);
      const answer = generated(document);
      expect({ i, document: copy, answer }).toEqual({ i, document: copy, answer: closures(copy) });
      // Both remove the fields that hold null.
      expect(document).toEqual(copy);
      if (answer) fitting++;
    }
    // Both answers occur, or the comparison proves little.
    expect(fitting).toBeGreaterThan(100);
    expect(fitting).toBeLessThan(2_900);
  });

  it('a field named like an inherited property is read only as the document own', () => {
    const check = checkerOf({
      fields: Object.fromEntries([['constructor', 'string']]) as Record<string, Shape>,
    });
    expect(check({})).toBe(true);
    expect(check({ constructor: 'x' })).toBe(true);
    expect(check(JSON.parse('{"constructor": 5}'))).toBe(false);
  });
});
