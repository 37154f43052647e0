import { readFileSync } from 'node:fs';

/*
 * ncc copies a file into the bundle's directory only when it sees the file read through `fs` with a
 * static path, and then points the read at the copy. Reading the parser's WebAssembly here is what
 * ships it next to dist/index.js; its size doubles as a check that the file is really there.
 * (This module must not mention the CommonJS directory variable: ncc skips relocating in modules that do.)
 */
export const parserWasmBytes = readFileSync(
  new URL('../node_modules/libpg-query/wasm/libpg-query.wasm', import.meta.url),
).byteLength;
