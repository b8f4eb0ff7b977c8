/**
 * The admin tables (sessions, users): one definition of each table's columns serves both its
 * header row and, on a phone, the labels of its stacked rows.
 *
 * At desktop widths a table is a table: every column and action in view, cells wrap rather
 * than scroll. Below {@link STACK_BELOW_REM} each row becomes a block (the row header as
 * its title, one line per cell) and each cell is labelled by CSS generated content built
 * from the same column names: the labels are written once in the stylesheet, not once per
 * cell in every row, which keeps a 100-row page small.
 */

export interface TableColumns {
  /** The table's class suffix (`t-<id>`) and the id of its caption. */
  id: string;
  /** The first column: a `<th scope="row">` naming the row (who the row is about). */
  rowHeader: string;
  /** The data columns, in order, each a `<td>`. */
  columns: readonly string[];
  /**
   * Data columns (by name) holding text without spaces of unbounded length (IPv6 addresses):
   * they may break anywhere. Elsewhere words stay whole ("viewer" is never "view/er"); the
   * row header (a user name of up to 64 characters) always may break.
   */
  breakAnywhere?: readonly string[];
  /** The last column's header, read only by assistive technology (its buttons say what they do). */
  action: string;
}

/** Narrower than this (a phone; a narrow window), rows stack. 44rem = 704 px at 16 px. */
export const STACK_BELOW_REM = 44;

export const SESSIONS_TABLE: TableColumns = {
  id: 'sessions',
  rowHeader: 'User',
  columns: ['Role', 'Signed in', 'Last seen', 'Client'],
  breakAnywhere: ['Client'],
  action: 'Action',
};

export const USERS_TABLE: TableColumns = {
  id: 'users',
  rowHeader: 'User',
  columns: ['Role', 'Password', 'Sessions', 'Last sign-in'],
  action: 'Actions',
};

export const TABLES: readonly TableColumns[] = [SESSIONS_TABLE, USERS_TABLE];

const CSS_LABEL_RegExp = /^[A-Za-z][A-Za-z -]*$/;

/**
 * The labels of stacked rows, one rule per data column of every table (`td:nth-child(2)` is
 * the first data column: the row header is child 1). Column names are constants checked
 * here, so nothing can close the CSS string or the style element.
 */
export function stackedLabelCss(tables: readonly TableColumns[]): string {
  return tables.flatMap((table) => table.columns.map((label, i) => {
    if (!CSS_LABEL_RegExp.test(label) || !CSS_LABEL_RegExp.test(table.id)) throw new Error(`table ${table.id}: column name ${label} is not plain text`);
    return `.t-${table.id} td:nth-child(${i + 2})::before{content:"${label}"}`;
  })).join('');
}

/** The cells that may break anywhere (see `breakAnywhere`), as one selector list. */
export function breakAnywhereSelector(tables: readonly TableColumns[]): string {
  return tables.flatMap((table) => (table.breakAnywhere ?? []).map((label) => {
    const i = table.columns.indexOf(label);
    if (i < 0) throw new Error(`table ${table.id}: breakAnywhere names no column ${label}`);
    return `.t-${table.id} td:nth-child(${i + 2})`;
  })).join(',');
}

/** `<table class="stack t-ID">`, its caption and header row; the caller adds `<tbody>…</tbody></table>`. */
export function tableStart(table: TableColumns, caption: string): string {
  const heads = table.columns.map((label) => `<th scope="col">${label}</th>`).join('');
  return `<table class="stack t-${table.id}"><caption id="${table.id}-caption">${caption}</caption>`
    + `<thead><tr><th scope="col">${table.rowHeader}</th>${heads}<th scope="col"><span class="vh">${table.action}</span></th></tr></thead>`;
}
