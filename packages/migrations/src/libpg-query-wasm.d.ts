/** The Emscripten module of libpg-query (its `wasm/libpg-query.js`), as far as parser.ts uses it. */
interface ParserModule {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  _wasm_parse_query_raw(sql: number): number;
  _wasm_free_parse_result(result: number): void;
}

declare module 'libpg-query/wasm/libpg-query.js' {
  const createParserModule: () => Promise<ParserModule>;
  export default createParserModule;
}
