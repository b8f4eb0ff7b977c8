/**
 * One ES module from tsc's output (TypeScript 7's tsc has no `outFile`, and the project takes
 * no bundler package). Each ES module Node loads costs ~80-95 KB of resident memory whatever
 * it holds, and `ringlet serve` loaded ~100 of them; in one file the same code costs a
 * fraction of that and starts faster.
 *
 * What it does, for the graph of relative imports from an entry (and optionally a `main`
 * entry whose extra modules run only when the bundle is the process's main module):
 * - modules in ES evaluation order (depth-first, post-order, in import order), each in its
 *   own function scope, so their top-level names never meet;
 * - imports become `const` bindings read from the imported module's namespace object, and
 *   exports become that object (frozen, sorted, like an ES namespace), built when the
 *   module's code has run;
 * - `import.meta.url` in a section is the URL the original module had (resolved against the
 *   bundle's own URL), so files found next to it (device-profiles/) are still found;
 * - Node built-ins are imported once, at the top;
 * - each section starts with a comment naming its module and the bundle line of its line 1,
 *   and its wrapper function is named after it, so stack traces stay readable;
 * - comments are left out and the text is ASCII (see compactSource: V8 keeps the text).
 *
 * It refuses, with one line naming the module, what it cannot bundle faithfully: a cycle of
 * value imports, an import or export form it does not know (import attributes, string
 * export names, destructuring exports), mutable exports (`export let`/`var`: imports are
 * copied, not live), top-level await, dynamic `import()`, `import.meta` other than `.url`,
 * `createRequire`, packages (the product has no dependencies), and names it reserves.
 * The output is compiled by V8 (`node --check`) before it replaces the old bundle.
 *
 * The scanner is a JavaScript tokenizer, not a parser: it knows strings, template literals,
 * comments, regular expressions and bracket depth, which is all that locating top-level
 * `import`/`export` statements needs. A regex-versus-division guess it got wrong would
 * desynchronise it; V8's check of the output is the backstop.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Every name the bundle adds starts with this; a module using it is refused. */
export const RESERVED_PREFIX = '__ringlet$';

export class BundleError extends Error {
  constructor(readonly module: string, detail: string) {
    super(`${module}: ${detail}`);
    this.name = 'BundleError';
  }
}

// ---------------------------------------------------------------------------------------
// Tokenizer

export type TokenType = 'name' | 'punct' | 'string' | 'template' | 'number' | 'regex';

export interface Token {
  type: TokenType;
  value: string;
  start: number;
  end: number;
  /** Open brackets ((, [, {, ${) around the token; an opener or closer counts at its outer level. */
  depth: number;
  /** A line terminator (possibly inside a comment) separates it from the previous token. */
  newlineBefore: boolean;
}

const PUNCTUATORS = [
  '>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=',
  '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=',
  '&=', '|=', '^=', '**', '<<', '>>',
];
const SINGLE_PUNCTUATORS = new Set('{}()[];,<>+-*/%&|^!~?:=.@');
/** After these names a `/` starts a regular expression, not a division. */
const REGEX_AFTER_NAMES = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await',
]);
const NUMBER_RE = /(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)n?/y;
const NAME_START_RE = /[A-Za-z_$\\\u0080-\uffff]/;
const NAME_PART_RE = /[A-Za-z0-9_$\\\u0080-\uffff\u200c\u200d]/;
const LINE_TERMINATOR_RE = /[\n\r\u2028\u2029]/;

function regexAllowedAfter(prev: Token | undefined): boolean {
  if (prev === undefined) return true;
  switch (prev.type) {
    case 'name':
      return REGEX_AFTER_NAMES.has(prev.value);
    case 'punct':
      // `}` ends a block far more often than an object literal divided by something.
      return prev.value !== ')' && prev.value !== ']' && prev.value !== '++' && prev.value !== '--';
    default:
      return false;
  }
}

/** 1-based line of an offset. */
export function lineOf(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

/** Tokens of a JavaScript module; comments and whitespace are skipped. Throws BundleError when it cannot scan. */
export function tokenize(source: string, module: string): Token[] {
  const tokens: Token[] = [];
  const stack: string[] = [];
  const n = source.length;
  let i = 0;
  let newline = false;
  const fail = (at: number, what: string): never => {
    throw new BundleError(module, `${what} (line ${lineOf(source, at)})`);
  };
  const push = (type: TokenType, start: number, end: number, depth: number): void => {
    tokens.push({ type, value: source.slice(start, end), start, end, depth, newlineBefore: newline });
    newline = false;
  };
  /** Template characters from `from` up to and including the closing backtick or `${`. */
  const templateChunk = (from: number): { end: number; opens: boolean } => {
    for (let j = from; j < n; j++) {
      const c = source[j];
      if (c === '\\') j++;
      else if (c === '`') return { end: j + 1, opens: false };
      else if (c === '$' && source[j + 1] === '{') return { end: j + 2, opens: true };
    }
    return fail(from, 'unterminated template literal');
  };
  if (source.startsWith('#!')) {
    while (i < n && !LINE_TERMINATOR_RE.test(source[i] as string)) i++;
  }
  while (i < n) {
    const c = source[i] as string;
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\ufeff' || c === '\u00a0') {
      i++;
      continue;
    }
    if (LINE_TERMINATOR_RE.test(c)) {
      newline = true;
      i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      while (i < n && !LINE_TERMINATOR_RE.test(source[i] as string)) i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const close = source.indexOf('*/', i + 2);
      if (close < 0) fail(i, 'unterminated comment');
      if (LINE_TERMINATOR_RE.test(source.slice(i, close))) newline = true;
      i = close + 2;
      continue;
    }
    const start = i;
    const depth = stack.length;
    if (c === '"' || c === "'") {
      for (i++; i < n && source[i] !== c; i++) {
        if (source[i] === '\\') i++;
        else if (source[i] === '\n') fail(start, 'unterminated string');
      }
      if (i >= n) fail(start, 'unterminated string');
      i++;
      push('string', start, i, depth);
      continue;
    }
    if (c === '`') {
      const chunk = templateChunk(i + 1);
      i = chunk.end;
      push('template', start, i, depth);
      if (chunk.opens) stack.push('${');
      continue;
    }
    if (c === '}' && stack.at(-1) === '${') {
      stack.pop();
      const chunk = templateChunk(i + 1);
      i = chunk.end;
      push('template', start, i, stack.length);
      if (chunk.opens) stack.push('${');
      continue;
    }
    if (/\d/.test(c) || (c === '.' && /\d/.test(source[i + 1] ?? ''))) {
      NUMBER_RE.lastIndex = i;
      const m = NUMBER_RE.exec(source);
      i += m === null ? 1 : m[0].length;
      push('number', start, i, depth);
      continue;
    }
    if (NAME_START_RE.test(c) || (c === '#' && NAME_START_RE.test(source[i + 1] ?? ''))) {
      for (i++; i < n && NAME_PART_RE.test(source[i] as string); i++) {
        if (source[i] === '\\') i++;
      }
      push('name', start, i, depth);
      continue;
    }
    if (c === '/' && regexAllowedAfter(tokens.at(-1))) {
      let inClass = false;
      for (i++; ; i++) {
        if (i >= n || LINE_TERMINATOR_RE.test(source[i] as string)) fail(start, 'unterminated regular expression');
        const r = source[i];
        if (r === '\\') i++;
        else if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
      }
      for (i++; i < n && NAME_PART_RE.test(source[i] as string); i++);
      push('regex', start, i, depth);
      continue;
    }
    const long = PUNCTUATORS.find((p) => source.startsWith(p, i) && !(p === '?.' && /\d/.test(source[i + 2] ?? '')));
    if (long !== undefined) {
      i += long.length;
      push('punct', start, i, depth);
      continue;
    }
    if (!SINGLE_PUNCTUATORS.has(c)) fail(i, `unexpected character ${JSON.stringify(c)}`);
    i++;
    if (c === '(' || c === '[' || c === '{') {
      push('punct', start, i, depth);
      stack.push(c);
    } else if (c === ')' || c === ']' || c === '}') {
      const open = stack.pop();
      if (open !== { ')': '(', ']': '[', '}': '{' }[c]) fail(start, `unbalanced ${c}`);
      push('punct', start, i, stack.length);
    } else {
      push('punct', start, i, depth);
    }
  }
  if (stack.length > 0) fail(n, `unclosed ${stack.at(-1)}`);
  return tokens;
}

/** `\uXXXX` for every UTF-16 unit above U+007E: the same value in strings, untagged templates, regexes and names. */
function asciiOnly(text: string): string {
  return text.replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The module's code without its comments, in ASCII: V8 keeps every module's source text in
 * its heap for as long as the process lives (lazy compilation), and one character above
 * U+00FF anywhere (a dash or an arrow in a comment) makes it store the whole text two bytes
 * per character. Line breaks and indentation stay, so line numbers and the code's layout
 * are the module's own; a comment between tokens on one line becomes a space. A tagged
 * template keeps its characters (its tag could read the raw text).
 */
export function compactSource(source: string, module: string): string {
  const tokens = tokenize(source, module);
  let out = '';
  let prevEnd = 0;
  /** Per open template: is it tagged? A tag sees the raw text, where an escape is not the character. */
  const tagged: boolean[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    const gap = source.slice(prevEnd, t.start);
    const lastBreak = Math.max(gap.lastIndexOf('\n'), gap.lastIndexOf('\r'));
    if (lastBreak >= 0) {
      const indent = gap.slice(lastBreak + 1);
      out += gap.slice(0, lastBreak + 1).replace(/[^\n]/g, '') + (/^[ \t]*$/.test(indent) ? indent : ' ');
    } else if (gap.length > 0) {
      out += /^[ \t]*$/.test(gap) ? gap : ' ';
    }
    let keepText = false;
    if (t.type === 'template') {
      const opensTemplate = t.value.startsWith('`');
      let isTagged: boolean;
      if (opensTemplate) {
        const prev = tokens[k - 1];
        isTagged = prev !== undefined && ((prev.type === 'name' && !REGEX_AFTER_NAMES.has(prev.value))
          || (prev.type === 'punct' && (prev.value === ')' || prev.value === ']')) || (prev.type === 'template' && prev.value.endsWith('`')));
      } else {
        isTagged = tagged.at(-1) ?? false;
        tagged.pop();
      }
      if (t.value.endsWith('${')) tagged.push(isTagged);
      keepText = isTagged;
    }
    out += keepText ? t.value : asciiOnly(t.value);
    prevEnd = t.end;
  }
  const tail = source.slice(prevEnd);
  return out + tail.replace(/[^\n]/g, '');
}

// ---------------------------------------------------------------------------------------
// Module structure

export interface ImportBinding {
  /** Exported name read, `default`, or `*` for the namespace. */
  imported: string;
  local: string;
}

export interface ImportDecl {
  specifier: string;
  bindings: ImportBinding[];
}

export type ExportEntry =
  | { kind: 'local'; exported: string; local: string }
  | { kind: 'indirect'; exported: string; specifier: string; imported: string }
  | { kind: 'namespace'; exported: string; specifier: string }
  | { kind: 'star'; specifier: string };

/** A text change: [start, end) replaced by `text`. */
interface Edit {
  start: number;
  end: number;
  text: string;
}

export interface ParsedModule {
  /** Every module request in source order (imports and re-exports): evaluation order. */
  requests: string[];
  imports: ImportDecl[];
  exports: ExportEntry[];
  edits: Edit[];
  usesImportMetaUrl: boolean;
}

const DEFAULT_LOCAL = `${RESERVED_PREFIX}default`;
const URL_LOCAL = `${RESERVED_PREFIX}url`;
const IDENTIFIER_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const RESERVED_WORDS = new Set([
  'await', 'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum',
  'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'implements', 'import', 'in', 'instanceof', 'interface',
  'let', 'new', 'null', 'package', 'private', 'protected', 'public', 'return', 'static', 'super', 'switch', 'this', 'throw',
  'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'arguments', 'eval',
]);

/** Blank out [start, end) keeping line breaks, so the module's lines stay where they were. */
function blank(source: string, start: number, end: number): Edit {
  return { start, end, text: source.slice(start, end).replace(/[^\n]/g, ' ') };
}

export function parseModule(source: string, module: string): ParsedModule {
  const tokens = tokenize(source, module);
  const requests: string[] = [];
  const imports: ImportDecl[] = [];
  const exports: ExportEntry[] = [];
  const edits: Edit[] = [];
  let usesImportMetaUrl = false;
  const mutableTopLevel = new Set<string>();
  const localExports: Array<{ name: string; at: number }> = [];

  const at = (k: number): Token | undefined => tokens[k];
  const isPunct = (k: number, v: string): boolean => tokens[k]?.type === 'punct' && tokens[k]?.value === v;
  const isName = (k: number, v?: string): boolean => tokens[k]?.type === 'name' && (v === undefined || tokens[k]?.value === v);
  const fail = (k: number, what: string): never => {
    throw new BundleError(module, `${what} (line ${lineOf(source, tokens[k]?.start ?? source.length)})`);
  };
  const unknown = (k: number, what: string): never => fail(k, `${what}: an import/export form the bundler does not handle`);
  const binding = (k: number): string => {
    const t = at(k);
    if (t?.type !== 'name' || !IDENTIFIER_RE.test(t.value) || RESERVED_WORDS.has(t.value)) return unknown(k, `binding ${t?.value ?? 'missing'}`);
    return t.value;
  };
  /** An IdentifierName (keywords allowed) used as an export name; string names are refused. */
  const exportName = (k: number): string => {
    const t = at(k);
    if (t?.type === 'string') return unknown(k, `string export name ${t.value}`);
    if (t?.type !== 'name' || !IDENTIFIER_RE.test(t.value)) return unknown(k, `export name ${t?.value ?? 'missing'}`);
    return t.value;
  };
  const specifierAt = (k: number): string => {
    const t = at(k);
    if (t?.type !== 'string') return unknown(k, 'module specifier expected');
    if (t.value.includes('\\')) return unknown(k, `escaped module specifier ${t.value}`);
    return t.value.slice(1, -1);
  };
  /** Index after the statement's end at token k: `;`, or a line break before the next token. */
  const statementEnd = (k: number): number => {
    if (isPunct(k, ';')) return k + 1;
    if (isName(k, 'with') || isName(k, 'assert')) return unknown(k, 'import attributes');
    if (k >= tokens.length || at(k)?.newlineBefore === true) return k;
    return unknown(k, `unexpected ${at(k)?.value}`);
  };
  const endOffset = (k: number): number => (k > 0 ? (at(k - 1)?.end ?? source.length) : 0);
  /** `{ a, b as c, }` from k (at `{`); returns [pairs, index after `}`]. */
  const specifierList = (k: number, local: (k: number) => string): [Array<[string, string]>, number] => {
    const pairs: Array<[string, string]> = [];
    let j = k + 1;
    while (!isPunct(j, '}')) {
      const first = local === binding ? exportName(j) : local(j);
      let second = first;
      j++;
      if (isName(j, 'as')) {
        second = local === binding ? binding(j + 1) : exportName(j + 1);
        j += 2;
      }
      pairs.push([first, second]);
      if (isPunct(j, ',')) j++;
      else if (!isPunct(j, '}')) unknown(j, `unexpected ${at(j)?.value ?? 'end'} in a specifier list`);
    }
    return [pairs, j + 1];
  };
  /** Index of the token closing the bracket opened at k. */
  const matching = (k: number): number => {
    const depth = at(k)?.depth;
    for (let j = k + 1; j < tokens.length; j++) if (at(j)?.depth === depth && at(j)?.type === 'punct') return j;
    return fail(k, 'unbalanced brackets');
  };

  const parseImport = (k: number): number => {
    let j = k + 1;
    const bindings: ImportBinding[] = [];
    let specifier: string;
    if (at(j)?.type === 'string') {
      specifier = specifierAt(j);
      j++;
    } else {
      if (isName(j) && (isPunct(j + 1, ',') || isName(j + 1, 'from'))) {
        if (isName(j, 'defer') || isName(j, 'source')) unknown(j, `import ${at(j)?.value}`);
        bindings.push({ imported: 'default', local: binding(j) });
        j++;
        if (isPunct(j, ',')) j++;
      }
      if (isPunct(j, '*')) {
        if (!isName(j + 1, 'as')) unknown(j, 'import *');
        bindings.push({ imported: '*', local: binding(j + 2) });
        j += 3;
      } else if (isPunct(j, '{')) {
        const [pairs, next] = specifierList(j, binding);
        for (const [imported, local] of pairs) bindings.push({ imported, local });
        j = next;
      } else if (bindings.length === 0) {
        unknown(j, `import ${at(j)?.value ?? ''}`);
      }
      if (!isName(j, 'from')) unknown(j, 'import without from');
      specifier = specifierAt(j + 1);
      j += 2;
    }
    const end = statementEnd(j);
    requests.push(specifier);
    imports.push({ specifier, bindings });
    edits.push(blank(source, at(k)!.start, endOffset(end)));
    return end;
  };

  /** Declarator names of `const|let|var a = ..., b = ...;` from k (the first name); returns the index after. */
  const declarators = (k: number, names: string[]): number => {
    let j = k;
    for (;;) {
      if (isPunct(j, '{') || isPunct(j, '[')) unknown(j, 'exported destructuring pattern');
      names.push(binding(j));
      const depth = at(j)!.depth;
      j++;
      while (j < tokens.length && !(at(j)!.depth === depth && (isPunct(j, ',') || isPunct(j, ';')))) {
        if (at(j)!.depth < depth) break;
        j++;
      }
      if (isPunct(j, ',')) {
        j++;
        continue;
      }
      return isPunct(j, ';') ? j + 1 : j;
    }
  };

  const parseExport = (k: number): number => {
    const exportStart = at(k)!.start;
    let j = k + 1;
    if (isPunct(j, '{')) {
      const [pairs, next] = specifierList(j, exportName);
      j = next;
      if (isName(j, 'from')) {
        const specifier = specifierAt(j + 1);
        requests.push(specifier);
        for (const [imported, exported] of pairs) exports.push({ kind: 'indirect', exported, specifier, imported });
        j += 2;
      } else {
        for (const [local, exported] of pairs) {
          if (!IDENTIFIER_RE.test(local) || RESERVED_WORDS.has(local)) unknown(k, `export of ${local}`);
          exports.push({ kind: 'local', exported, local });
          localExports.push({ name: local, at: k });
        }
      }
      const end = statementEnd(j);
      edits.push(blank(source, exportStart, endOffset(end)));
      return end;
    }
    if (isPunct(j, '*')) {
      if (isName(j + 1, 'as')) {
        const exported = exportName(j + 2);
        const specifier = specifierAt(j + 4);
        if (!isName(j + 3, 'from')) unknown(j + 3, 'export * as without from');
        requests.push(specifier);
        exports.push({ kind: 'namespace', exported, specifier });
        j += 5;
      } else {
        if (!isName(j + 1, 'from')) unknown(j + 1, 'export * without from');
        const specifier = specifierAt(j + 2);
        requests.push(specifier);
        exports.push({ kind: 'star', specifier });
        j += 3;
      }
      const end = statementEnd(j);
      edits.push(blank(source, exportStart, endOffset(end)));
      return end;
    }
    if (isName(j, 'default')) {
      const afterDefault = j + 1;
      let d = afterDefault;
      const isAsync = isName(d, 'async') && isName(d + 1, 'function') && at(d + 1)?.newlineBefore !== true;
      if (isAsync) d++;
      if (isName(d, 'function') || isName(d, 'class')) {
        const isClass = isName(d, 'class');
        let nameAt = d + 1;
        if (!isClass && isPunct(nameAt, '*')) nameAt++;
        const named = isName(nameAt) && !(isClass && isName(nameAt, 'extends'));
        if (named) {
          const local = binding(nameAt);
          exports.push({ kind: 'local', exported: 'default', local });
          edits.push(blank(source, exportStart, at(afterDefault)!.start));
          return nameAt + 1;
        }
        // Anonymous: an expression in a property, so its `name` is still "default".
        let bodyOpen: number;
        if (isClass) {
          bodyOpen = nameAt;
          while (bodyOpen < tokens.length && !(isPunct(bodyOpen, '{') && at(bodyOpen)!.depth === at(d)!.depth)) bodyOpen++;
        } else {
          if (!isPunct(nameAt, '(')) unknown(nameAt, 'export default function');
          bodyOpen = matching(nameAt) + 1;
          if (!isPunct(bodyOpen, '{')) unknown(bodyOpen, 'export default function');
        }
        const close = matching(bodyOpen);
        edits.push({ start: exportStart, end: at(afterDefault)!.start, text: `const ${DEFAULT_LOCAL} = ({ default: ` });
        edits.push({ start: at(close)!.end, end: at(close)!.end, text: ' }).default;' });
        exports.push({ kind: 'local', exported: 'default', local: DEFAULT_LOCAL });
        return afterDefault; // the body is scanned like any code (import.meta, import())
      }
      // An expression up to its `;` (tsc always writes one).
      let end = afterDefault;
      while (end < tokens.length && !(isPunct(end, ';') && at(end)!.depth === at(k)!.depth)) end++;
      if (end >= tokens.length) unknown(k, 'export default without a semicolon');
      edits.push({ start: exportStart, end: at(afterDefault)!.start, text: `const ${DEFAULT_LOCAL} = ({ default: ` });
      edits.push({ start: at(end)!.start, end: at(end)!.start, text: ' }).default' });
      exports.push({ kind: 'local', exported: 'default', local: DEFAULT_LOCAL });
      return afterDefault;
    }
    if (isName(j, 'const') || isName(j, 'let') || isName(j, 'var')) {
      if (!isName(j, 'const')) fail(j, `export ${at(j)!.value}: a mutable export would be copied, not live; export a const or a function`);
      const names: string[] = [];
      declarators(j + 1, names);
      for (const name of names) exports.push({ kind: 'local', exported: name, local: name });
      edits.push(blank(source, exportStart, at(j)!.start));
      return j + 1; // initialisers are scanned like any code (import.meta, import())
    }
    let d = j;
    if (isName(d, 'async') && isName(d + 1, 'function')) d++;
    if (isName(d, 'function') || isName(d, 'class')) {
      let nameAt = d + 1;
      if (isPunct(nameAt, '*')) nameAt++;
      const name = binding(nameAt);
      exports.push({ kind: 'local', exported: name, local: name });
      edits.push(blank(source, exportStart, at(j)!.start));
      return nameAt + 1;
    }
    return unknown(j, `export ${at(j)?.value ?? ''}`);
  };

  let k = 0;
  while (k < tokens.length) {
    const t = tokens[k]!;
    if (t.type !== 'name') {
      k++;
      continue;
    }
    if (t.value.startsWith(RESERVED_PREFIX)) fail(k, `the name ${t.value} is reserved by the bundler`);
    const afterDot = isPunct(k - 1, '.') || isPunct(k - 1, '?.');
    if (afterDot) {
      k++;
      continue;
    }
    if (t.value === 'import') {
      if (isPunct(k + 1, '(')) {
        // A class method named `import` is followed by its body; a call is not.
        if (!isPunct(matching(k + 1) + 1, '{')) fail(k, 'dynamic import() is not supported: import the module statically and initialise it lazily');
        k++;
        continue;
      }
      if (isPunct(k + 1, '.')) {
        if (!isName(k + 2, 'meta')) unknown(k, 'import.');
        if (!(isPunct(k + 3, '.') && isName(k + 4, 'url'))) fail(k, 'only import.meta.url is supported (use fileURLToPath(import.meta.url) for paths)');
        edits.push({ start: t.start, end: at(k + 4)!.end, text: URL_LOCAL });
        usesImportMetaUrl = true;
        k += 5;
        continue;
      }
      if (t.depth === 0 && !isPunct(k + 1, ':')) {
        k = parseImport(k);
        continue;
      }
    } else if (t.value === 'export' && t.depth === 0) {
      k = parseExport(k);
      continue;
    } else if ((t.value === 'let' || t.value === 'var') && t.depth === 0 && isName(k + 1)) {
      mutableTopLevel.add(at(k + 1)!.value);
    }
    k++;
  }
  for (const e of localExports) {
    if (mutableTopLevel.has(e.name)) fail(e.at, `export of ${e.name}, declared with let/var: a mutable export would be copied, not live; export a const or a function`);
  }
  return { requests, imports, exports, edits, usesImportMetaUrl };
}

// ---------------------------------------------------------------------------------------
// The graph

interface ModuleRecord {
  file: string;
  /** Path relative to the bundle's directory, with `/`: what comments and errors show. */
  name: string;
  source: string;
  parsed: ParsedModule;
  /** Resolved requests, parallel to parsed.requests. */
  resolved: Map<string, Target>;
  variable: string;
  group: 'library' | 'main';
}

type Target = { kind: 'module'; record: ModuleRecord } | { kind: 'builtin'; specifier: string; variable: string };

type Binding = { module: ModuleRecord; name: string; namespace: boolean } | { builtin: string; name: string };

export interface BundleOptions {
  /** The library entry: the bundle exports exactly its exports. */
  entry: string;
  /** A program entry run only when the bundle is the process's main module (the CLI). */
  main?: string;
  /** Where the bundle will live: `import.meta.url` of each section is resolved against it. */
  out: string;
}

export interface BundleResult {
  code: string;
  /** Module names (relative to the bundle's directory) in evaluation order. */
  modules: string[];
  mainModules: string[];
  builtins: string[];
}

const BUILTINS = new Set(builtinModules);

function builtinName(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return specifier;
  return BUILTINS.has(specifier) ? `node:${specifier}` : undefined;
}

function slug(name: string): string {
  return name.replace(/\.m?js$/, '').replace(/[^A-Za-z0-9_$]/g, '_');
}

/** Builds the bundle's code in memory. Throws BundleError naming the module on anything it refuses. */
export async function bundle(options: BundleOptions): Promise<BundleResult> {
  const outDir = dirname(resolve(options.out));
  const records = new Map<string, ModuleRecord>();
  const builtinTargets = new Map<string, Target & { kind: 'builtin' }>();
  const usedVariables = new Set<string>();
  const variableFor = (base: string): string => {
    let v = `${RESERVED_PREFIX}${base}`;
    for (let i = 2; usedVariables.has(v); i++) v = `${RESERVED_PREFIX}${base}_${i}`;
    usedVariables.add(v);
    return v;
  };
  const displayName = (file: string): string => relative(outDir, file).split(sep).join('/');

  const load = (file: string, from: string): ModuleRecord => {
    const known = records.get(file);
    if (known !== undefined) return known;
    const name = displayName(file);
    if (!existsSync(file)) throw new BundleError(from, `imports ${name}, which does not exist`);
    if (!/\.m?js$/.test(file)) throw new BundleError(from, `imports ${name}: only .js/.mjs modules can be bundled`);
    const source = readFileSync(file, 'utf8');
    const record: ModuleRecord = { file, name, source, parsed: parseModule(source, name), resolved: new Map(), variable: variableFor(slug(name)), group: 'library' };
    records.set(file, record);
    return record;
  };

  const resolveRequest = (record: ModuleRecord, specifier: string): Target => {
    const builtin = builtinName(specifier);
    if (builtin !== undefined) {
      let target = builtinTargets.get(builtin);
      if (target === undefined) {
        target = { kind: 'builtin', specifier: builtin, variable: variableFor(slug(builtin)) };
        builtinTargets.set(builtin, target);
      }
      return target;
    }
    if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
      throw new BundleError(record.name, `imports "${specifier}": only relative modules and Node built-ins can be bundled (ringlet has no runtime dependencies)`);
    }
    return { kind: 'module', record: load(resolve(dirname(record.file), specifier), record.name) };
  };

  /** Depth-first post-order from `root`: ES module evaluation order. Refuses cycles. */
  const order: ModuleRecord[] = [];
  const visit = (record: ModuleRecord, path: ModuleRecord[], done: Set<ModuleRecord>, group: 'library' | 'main'): void => {
    if (done.has(record)) return;
    const inPath = path.indexOf(record);
    if (inPath >= 0) {
      const cycle = [...path.slice(inPath), record].map((r) => r.name).join(' → ');
      throw new BundleError(record.name, `value-import cycle ${cycle}: modules in a cycle cannot each run after the other (move the shared part into its own module, or import only types)`);
    }
    for (const specifier of record.parsed.requests) {
      if (!record.resolved.has(specifier)) record.resolved.set(specifier, resolveRequest(record, specifier));
      const target = record.resolved.get(specifier)!;
      if (target.kind === 'module') visit(target.record, [...path, record], done, group);
    }
    done.add(record);
    record.group = group;
    order.push(record);
  };
  const done = new Set<ModuleRecord>();
  const entry = load(resolve(options.entry), 'bundle entry');
  visit(entry, [], done, 'library');
  const libraryCount = order.length;
  const main = options.main === undefined ? undefined : load(resolve(options.main), 'bundle main');
  if (main !== undefined) visit(main, [], done, 'main');

  // Named imports from built-ins must exist (ES linking would refuse them too).
  const builtinExports = new Map<string, Set<string>>();
  for (const target of builtinTargets.values()) {
    const ns = (await import(target.specifier)) as Record<string, unknown>;
    builtinExports.set(target.specifier, new Set(Object.keys(ns)));
  }

  /** ResolveExport (ECMA-262 16.2.1.6.3), with ambiguity reported as 'ambiguous'. */
  const resolveExport = (record: ModuleRecord, name: string, seen: Array<[ModuleRecord, string]> = []): Binding | null | 'ambiguous' => {
    if (seen.some(([r, n]) => r === record && n === name)) return null;
    seen.push([record, name]);
    for (const e of record.parsed.exports) {
      if (e.kind === 'local' && e.exported === name) return { module: record, name: e.local, namespace: false };
      if (e.kind === 'namespace' && e.exported === name) {
        const target = record.resolved.get(e.specifier)!;
        return target.kind === 'module' ? { module: target.record, name: '*', namespace: true } : { builtin: target.specifier, name: '*' };
      }
      if (e.kind === 'indirect' && e.exported === name) {
        const target = record.resolved.get(e.specifier)!;
        if (target.kind === 'builtin') return { builtin: target.specifier, name: e.imported };
        if (e.imported === '*') return { module: target.record, name: '*', namespace: true };
        return resolveExport(target.record, e.imported, seen);
      }
    }
    if (name === 'default') return null;
    let star: Binding | null = null;
    for (const e of record.parsed.exports) {
      if (e.kind !== 'star') continue;
      const target = record.resolved.get(e.specifier)!;
      if (target.kind === 'builtin') throw new BundleError(record.name, `export * from ${target.specifier}: re-export the names you need instead`);
      const found = resolveExport(target.record, name, seen);
      if (found === 'ambiguous') return found;
      if (found === null) continue;
      if (star === null) star = found;
      else if (!sameBinding(star, found)) return 'ambiguous';
    }
    return star;
  };
  const sameBinding = (a: Binding, b: Binding): boolean =>
    'module' in a && 'module' in b ? a.module === b.module && a.name === b.name : 'builtin' in a && 'builtin' in b && a.builtin === b.builtin && a.name === b.name;

  /** GetExportedNames (ECMA-262 16.2.1.6.2). */
  const exportedNames = (record: ModuleRecord, seen = new Set<ModuleRecord>()): string[] => {
    if (seen.has(record)) return [];
    seen.add(record);
    const names: string[] = [];
    for (const e of record.parsed.exports) if (e.kind !== 'star') names.push(e.exported);
    for (const e of record.parsed.exports) {
      if (e.kind !== 'star') continue;
      const target = record.resolved.get(e.specifier)!;
      if (target.kind === 'builtin') throw new BundleError(record.name, `export * from ${target.specifier}: re-export the names you need instead`);
      for (const n of exportedNames(target.record, seen)) if (n !== 'default' && !names.includes(n)) names.push(n);
    }
    return names;
  };

  for (const record of order) {
    const seenExports = new Set<string>();
    for (const e of record.parsed.exports) {
      if (e.kind === 'star') continue;
      if (seenExports.has(e.exported)) throw new BundleError(record.name, `exports ${e.exported} twice`);
      seenExports.add(e.exported);
    }
    for (const decl of record.parsed.imports) {
      const target = record.resolved.get(decl.specifier)!;
      for (const b of decl.bindings) {
        if (b.imported === '*') continue;
        if (target.kind === 'builtin') {
          if (target.specifier === 'node:module' && b.imported === 'createRequire') {
            throw new BundleError(record.name, 'createRequire loads modules the bundle cannot see');
          }
          if (!builtinExports.get(target.specifier)!.has(b.imported)) throw new BundleError(record.name, `imports ${b.imported} from ${target.specifier}, which does not export it`);
          continue;
        }
        const found = resolveExport(target.record, b.imported);
        if (found === null) throw new BundleError(record.name, `imports ${b.imported} from ${target.record.name}, which does not export it`);
        if (found === 'ambiguous') throw new BundleError(record.name, `imports ${b.imported} from ${target.record.name}, where export * makes it ambiguous`);
      }
    }
  }

  // Emit.
  const lines: string[] = [];
  const header: string[] = [];
  if (main !== undefined) header.push('#!/usr/bin/env node');
  header.push(`// ringlet bundle: ${order.length} modules built from tsc's output by src/build/bundle.ts. Do not edit; run npm run build.`);
  header.push('// Each section is one module in its own function scope; its header gives the bundle line of the module\'s line 1.');
  header.push('// Comments are left out (they are in src/ and the .d.ts files): V8 keeps this text in memory.');
  // The main-module check needs these three; a module may already import them.
  if (main !== undefined) for (const specifier of ['node:fs', 'node:path', 'node:url']) resolveRequest(main, specifier);
  const builtinVariable = (specifier: string): string => builtinTargets.get(specifier)!.variable;
  const builtinList = [...builtinTargets.values()].sort((a, b) => a.specifier.localeCompare(b.specifier));
  for (const b of builtinList) header.push(`import * as ${b.variable} from '${b.specifier}';`);
  lines.push(...header);

  const bindingExpression = (record: ModuleRecord, exported: string): string => {
    const e = record.parsed.exports.find((x) => x.kind !== 'star' && x.exported === exported);
    if (e?.kind === 'local') return e.local;
    if (e?.kind === 'namespace') return targetVariable(record, e.specifier);
    if (e?.kind === 'indirect') {
      const v = targetVariable(record, e.specifier);
      return e.imported === '*' ? v : `${v}.${e.imported}`;
    }
    // From an `export *`: the first star module that provides it (ambiguity was excluded).
    for (const s of record.parsed.exports) {
      if (s.kind !== 'star') continue;
      const target = record.resolved.get(s.specifier)!;
      if (target.kind === 'module' && exportedNames(target.record).includes(exported)) return `${target.record.variable}.${exported}`;
    }
    throw new BundleError(record.name, `cannot find the binding of ${exported}`);
  };
  const targetVariable = (record: ModuleRecord, specifier: string): string => {
    const target = record.resolved.get(specifier)!;
    return target.kind === 'module' ? target.record.variable : target.variable;
  };

  const sectionLines: Array<{ name: string; firstLine: number; lastLine: number }> = [];
  const emitSection = (record: ModuleRecord): void => {
    const p = record.parsed;
    const prelude: string[] = [];
    for (const decl of p.imports) {
      const v = targetVariable(record, decl.specifier);
      const named = decl.bindings.filter((b) => b.imported !== '*').map((b) => (b.imported === b.local ? b.local : `${b.imported}: ${b.local}`));
      if (named.length > 0) prelude.push(`const { ${named.join(', ')} } = ${v};`);
      for (const b of decl.bindings) if (b.imported === '*') prelude.push(`const ${b.local} = ${v};`);
    }
    if (p.usesImportMetaUrl) {
      const url = relative(outDir, record.file).split(sep).join('/');
      prelude.push(`const ${URL_LOCAL} = new URL(${JSON.stringify(url.startsWith('.') ? url : `./${url}`)}, import.meta.url).href;`);
    }
    let body = record.source;
    const edits = [...p.edits].sort((a, b) => b.start - a.start);
    for (const e of edits) body = body.slice(0, e.start) + e.text + body.slice(e.end);
    // The shebang (a comment to the tokenizer) goes with the other comments.
    body = compactSource(body, record.name);
    const names = exportedNames(record).filter((n) => resolveExport(record, n) !== 'ambiguous').sort();
    const members = names.map((n) => `${IDENTIFIER_RE.test(n) ? n : JSON.stringify(n)}: ${bindingExpression(record, n)}`);
    const firstLine = lines.length + 3;
    lines.push(`// -- ${record.name} (its line 1 is line ${firstLine} here)`);
    lines.push(`const ${record.variable} = (function ${record.variable}$module() { ${prelude.join(' ')}`);
    const bodyLines = body.split('\n');
    if (bodyLines.at(-1) === '') bodyLines.pop();
    lines.push(...bodyLines);
    lines.push(`return Object.freeze({ __proto__: null, ${[...members, "[Symbol.toStringTag]: 'Module'"].join(', ')} });`);
    lines.push('})();');
    sectionLines.push({ name: record.name, firstLine, lastLine: lines.length });
  };

  const library = order.slice(0, libraryCount);
  const mainOnly = order.slice(libraryCount);
  for (const record of library) emitSection(record);
  const entryNames = exportedNames(entry).filter((n) => resolveExport(entry, n) !== 'ambiguous').sort();
  if (entryNames.length > 0) {
    lines.push(`// -- the bundle's exports: those of ${entry.name}`);
    const locals = entryNames.map((n, i) => [n, `${RESERVED_PREFIX}export${i}`] as const);
    lines.push(`const ${locals.map(([n, l]) => `${l} = ${entry.variable}.${n}`).join(', ')};`);
    lines.push(`export { ${locals.map(([n, l]) => `${l} as ${n}`).join(', ')} };`);
  }
  if (main !== undefined && mainOnly.length > 0) {
    lines.push(`// -- ${main.name} and the modules only it needs run when this file is the process's main module.`);
    // node resolves its main module through symlinks (npm's bin link) unless told not to: compare both ways.
    lines.push(`if ((() => { const file = ${builtinVariable('node:url')}.fileURLToPath(import.meta.url); const argv1 = process.argv[1]; if (argv1 === undefined) return false;`
      + ` if (${builtinVariable('node:path')}.resolve(argv1) === file) return true; try { return ${builtinVariable('node:fs')}.realpathSync(argv1) === file; } catch { return false; } })()) {`);
    for (const record of mainOnly) emitSection(record);
    lines.push('}');
  }
  const code = `${lines.join('\n')}\n`;
  checkSyntax(code, sectionLines);
  return {
    code,
    modules: order.map((r) => r.name),
    mainModules: mainOnly.map((r) => r.name),
    builtins: builtinList.map((b) => b.specifier),
  };
}

/**
 * V8 compiles the output as an ES module (`node --check`): top-level await fails here (each
 * section is a plain function), as would anything the scanner got wrong.
 */
function checkSyntax(code: string, sections: Array<{ name: string; firstLine: number; lastLine: number }>): void {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-bundle-check-'));
  try {
    const file = join(dir, 'bundle.mjs');
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
    if (r.status === 0) return;
    // node prints `FILE:LINE`, the source line, and carets under the offending token.
    const lines = r.stderr.split('\n');
    const at = lines.findIndex((l) => l.startsWith(`${file}:`));
    const line = Number(lines[at]?.slice(file.length + 1) ?? NaN);
    const carets = /^(\s*)(\^+)/.exec(lines[at + 2] ?? '');
    const culprit = carets === null ? '' : (lines[at + 1] ?? '').slice(carets[1]!.length, carets[1]!.length + carets[2]!.length);
    const message = /^(SyntaxError: .*)$/m.exec(r.stderr)?.[1] ?? r.stderr.trim().split('\n').at(-1) ?? 'unknown error';
    const section = sections.find((s) => line >= s.firstLine - 2 && line <= s.lastLine);
    const where = section === undefined ? 'bundle' : section.name;
    const moduleLine = section === undefined ? line : line - section.firstLine + 1;
    // Every section is a plain function: an `await` V8 refuses there was at its module's top level.
    if (culprit === 'await') {
      throw new BundleError(where, `top-level await is not supported (line ${moduleLine}): initialise lazily instead`);
    }
    throw new BundleError(where, `the bundled code does not compile (line ${moduleLine}): ${message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
