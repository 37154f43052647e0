import type { Migration } from './discovery.js';
import type { TypeInfo } from './nodes.js';

export interface ColumnInfo {
  /** Undefined where the migrations never said (a column of a table created outside them). */
  type?: TypeInfo;
  notNull: boolean;
}

export interface CheckInfo {
  /** The column a `CHECK (col IS NOT NULL)` covers; undefined for any other check. */
  notNullColumn?: string;
  /** Validated: added without NOT VALID, or validated since. */
  validated: boolean;
}

export interface TableInfo {
  /** The migration that created it: the table is new and empty in that migration only. */
  createdIn: Migration;
  columns: Map<string, ColumnInfo>;
  /** By constraint name. */
  checks: Map<string, CheckInfo>;
}

/**
 * A table created in an earlier file may have been applied long ago and hold data by now; one the
 * migrations never created exists outside them and is taken to be large.
 */
export type TableOrigin = 'new' | 'earlier' | 'unknown';

/** `public.t` and `t` are one table (the search path of a migration is `public` by default). */
export const tableKey = (name: string) => (name.startsWith('public.') ? name.slice('public.'.length) : name);

/**
 * The schema the migrations define, file by file, as far as the rules need it: tables with the columns,
 * types and NOT NULL the migrations gave them, their CHECK constraints, and which table each index is on.
 * Tables the migrations did not create appear only through what the migrations did to them.
 *
 * Changes are journaled from {@link begin}: a migration that turns out not to parse is taken back with
 * {@link rollback}, since the tool would not apply it.
 */
export class Schema {
  readonly #tables = new Map<string, TableInfo>();
  readonly #indexes = new Map<string, string>();
  #journal: (() => void)[] | undefined;

  begin(): void {
    this.#journal = [];
  }

  commit(): void {
    this.#journal = undefined;
  }

  rollback(): void {
    const journal = this.#journal ?? [];
    for (let i = journal.length - 1; i >= 0; i--) (journal[i] as () => void)();
    this.#journal = undefined;
  }

  /** Sets `key` in `map`, and journals how to set it back. */
  #set<K, V>(map: Map<K, V>, key: K, value: V | undefined): void {
    if (this.#journal) {
      const had = map.has(key);
      const previous = map.get(key);
      this.#journal.push(() => (had ? map.set(key, previous as V) : map.delete(key)));
    }
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }

  table(name: string): TableInfo | undefined {
    return this.#tables.get(tableKey(name));
  }

  origin(name: string, migration: Migration): TableOrigin {
    const table = this.table(name);
    if (table === undefined || table.createdIn === OUTSIDE) return 'unknown';
    return table.createdIn === migration ? 'new' : 'earlier';
  }

  createTable(name: string, createdIn: Migration): void {
    this.#set(this.#tables, tableKey(name), { createdIn, columns: new Map(), checks: new Map() });
  }

  dropTable(name: string): void {
    this.#set(this.#tables, tableKey(name), undefined);
  }

  renameTable(name: string, to: string): void {
    const table = this.table(name);
    if (!table) return;
    // ALTER TABLE s.t RENAME TO u keeps the schema s.
    const schema = tableKey(name).includes('.') ? `${tableKey(name).split('.')[0]}.` : '';
    const renamed = tableKey(`${schema}${to}`);
    this.#set(this.#tables, tableKey(name), undefined);
    this.#set(this.#tables, renamed, table);
    for (const [index, on] of this.#indexes) {
      if (tableKey(on) === tableKey(name)) this.#set(this.#indexes, index, renamed);
    }
  }

  /**
   * The table's entry to change: a table the migrations did not create gets one on first change (its
   * `createdIn` is no migration, so it never counts as new).
   */
  #entry(name: string): TableInfo {
    const existing = this.table(name);
    if (existing) return existing;
    const outside: TableInfo = { createdIn: OUTSIDE, columns: new Map(), checks: new Map() };
    this.#set(this.#tables, tableKey(name), outside);
    return outside;
  }

  column(table: string, column: string): ColumnInfo | undefined {
    return this.table(table)?.columns.get(column);
  }

  setColumn(table: string, column: string, info: ColumnInfo | undefined): void {
    this.#set(this.#entry(table).columns, column, info);
  }

  renameColumn(table: string, column: string, to: string): void {
    const entry = this.table(table);
    if (!entry) return;
    this.#set(entry.columns, to, entry.columns.get(column));
    this.#set(entry.columns, column, undefined);
    for (const [name, check] of entry.checks) {
      if (check.notNullColumn === column) this.#set(entry.checks, name, { ...check, notNullColumn: to });
    }
  }

  setCheck(table: string, name: string, info: CheckInfo | undefined): void {
    this.#set(this.#entry(table).checks, name, info);
  }

  /** Whether a validated `CHECK (column IS NOT NULL)` covers the column. */
  provenNotNull(table: string, column: string): boolean {
    for (const check of this.table(table)?.checks.values() ?? []) {
      if (check.validated && check.notNullColumn === column) return true;
    }
    return false;
  }

  /** The table an index is on, where the migrations created the index. */
  indexTable(index: string): string | undefined {
    return this.#indexes.get(tableKey(index));
  }

  setIndex(index: string, table: string | undefined): void {
    this.#set(this.#indexes, tableKey(index), table);
  }
}

/** What a table the migrations did not create was "created in": never the migration at hand. */
const OUTSIDE: Migration = Object.freeze({
  path: '',
  format: 'plain',
  direction: 'up',
  version: '',
  sql: '',
  fileText: '',
  offset: 0,
  transaction: true,
  repeatable: false,
});
