import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parserWasmBytes } from './parser-wasm.js';

/*
 * libpg-query's Emscripten loader starts as soon as it is imported and looks for libpg-query.wasm in
 * `__dirname`. Unbundled, it is a CommonJS module and has its own; in our ES module bundle that name does
 * not exist and the import fails. This module is imported before libpg-query and gives the loader the
 * bundle's directory, where parser-wasm.ts made ncc put the wasm. An existing value is never replaced.
 */
if (parserWasmBytes === 0) throw new Error('libpg-query.wasm is empty: the PostgreSQL parser cannot load');
const scope = globalThis as { __dirname?: string };
scope.__dirname ??= dirname(fileURLToPath(import.meta.url));
