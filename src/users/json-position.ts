/**
 * Where a JSON text first goes wrong, for error messages about operator files.
 *
 * Why not JSON.parse's message: V8 reports a position for some errors only, and for
 * others quotes a slice of the text ("Unexpected token 'x', "...secret..." is not
 * valid JSON"), which must not reach a log. This scanner follows RFC 8259's grammar and
 * only runs after JSON.parse has already failed.
 */

/** Deeper nesting is reported as an error: no operator file needs it. */
const MAX_DEPTH = 256;

class SyntaxAt {
  constructor(readonly offset: number) {}
}

const numberRegExp = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const hex4RegExp = /[0-9a-fA-F]{4}/y;

/** The 0-based offset of the first syntax error in `text`, or undefined when it is valid JSON. */
export function jsonSyntaxErrorOffset(text: string): number | undefined {
  let i = 0;
  const skipWs = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };
  const expect = (literal: string): void => {
    for (let k = 0; k < literal.length; k++, i++) {
      if (text[i] !== literal[k]) throw new SyntaxAt(i);
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) throw new SyntaxAt(i);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) throw new SyntaxAt(i);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          hex4RegExp.lastIndex = i + 2;
          if (!hex4RegExp.test(text)) throw new SyntaxAt(i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          throw new SyntaxAt(i);
        }
      } else {
        i++;
      }
    }
  };
  /** At `{` or `[`: `member`s separated by commas, up to `close`. */
  const members = (close: string, member: () => void): void => {
    i++;
    skipWs();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      member();
      skipWs();
      if (text[i] === ',') i++;
      else if (text[i] === close) {
        i++;
        return;
      } else throw new SyntaxAt(i);
    }
  };
  const value = (depth: number): void => {
    skipWs();
    if (depth > MAX_DEPTH) throw new SyntaxAt(i);
    const c = text[i];
    if (c === '{') {
      members('}', () => {
        skipWs();
        if (text[i] !== '"') throw new SyntaxAt(i);
        string();
        skipWs();
        expect(':');
        value(depth + 1);
      });
    } else if (c === '[') {
      members(']', () => value(depth + 1));
    } else if (c === '"') {
      string();
    } else if (c === 't') {
      expect('true');
    } else if (c === 'f') {
      expect('false');
    } else if (c === 'n') {
      expect('null');
    } else {
      numberRegExp.lastIndex = i;
      if (!numberRegExp.test(text)) throw new SyntaxAt(i);
      i = numberRegExp.lastIndex;
    }
  };
  try {
    value(0);
    skipWs();
    if (i !== text.length) throw new SyntaxAt(i);
    return undefined;
  } catch (err) {
    if (err instanceof SyntaxAt) return err.offset;
    throw err;
  }
}

/** 1-based line and column (in UTF-16 units) of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 0x0a) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
