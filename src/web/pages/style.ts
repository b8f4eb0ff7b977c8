/**
 * The one stylesheet every page inlines, and the Content-Security-Policy that allows exactly
 * it (by SHA-256 hash) and nothing else: no script, no external fetch, no framing, forms
 * only to this origin. Pages carry no `style=` attributes, which a hash would not cover.
 */
import { createHash } from 'node:crypto';
import { breakAnywhereSelector, STACK_BELOW_REM, TABLES, stackedLabelCss } from './table.js';

/**
 * Colour pairs used for text and controls; each foreground/background pair is checked in
 * tests against WCAG 2.x contrast (>= 4.5:1 for text, >= 3:1 for the focus ring).
 */
export const PALETTE = {
  text: '#1b1b1b',
  muted: '#4a4f57',
  page: '#f4f5f7',
  panel: '#ffffff',
  border: '#6b6f76',
  link: '#0b57d0',
  buttonText: '#ffffff',
  button: '#0b57d0',
  errorText: '#8c1010',
  errorBg: '#fdecea',
  noticeBg: '#e8f0fe',
  focus: '#b34700',
} as const;

const p = PALETTE;

/** The exact text between `<style>` and `</style>`: its hash is in {@link PAGE_CSP}. */
export const PAGE_STYLE = [
  `:root{color-scheme:light;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:${p.text};background:${p.page}}`,
  '*{box-sizing:border-box}',
  'body{margin:0;padding:1rem .75rem}',
  'header,main{max-width:40rem;margin:0 auto}',
  // Table pages take the room a desktop has: every column and action in view at 1280 px.
  '.wide header,.wide main{max-width:72rem}',
  'header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;margin-bottom:1rem}',
  'header nav{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:center}',
  '.site{font-weight:700;font-size:1.125rem;overflow-wrap:anywhere}',
  'header button{padding:.25rem .75rem}',
  `main{background:${p.panel};border:1px solid ${p.border};border-radius:6px;padding:1rem 1.25rem}`,
  'h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}',
  `a{color:${p.link}}`,
  'label{display:block;font-weight:600;margin:1rem 0 .25rem}',
  `input,select{font:inherit;color:${p.text};background:${p.panel};border:1px solid ${p.border};border-radius:4px;padding:.5rem}`,
  'input{width:100%;max-width:100%}',
  '.check{display:flex;gap:.5rem;align-items:center;font-weight:400}',
  '.check input{width:1.25rem;height:1.25rem;margin:0;flex:none}',
  `button{font:inherit;font-weight:600;color:${p.buttonText};background:${p.button};border:1px solid ${p.button};border-radius:4px;padding:.5rem 1rem;margin-top:1rem;cursor:pointer}`,
  `button.secondary{color:${p.link};background:${p.panel};margin:0}`,
  'form.inline{display:inline;margin:0}',
  `:focus-visible{outline:3px solid ${p.focus};outline-offset:2px}`,
  `[role=alert]{color:${p.errorText};background:${p.errorBg};border:1px solid ${p.errorText};border-radius:4px;padding:.5rem .75rem}`,
  `[role=status]{color:${p.text};background:${p.noticeBg};border:1px solid ${p.link};border-radius:4px;padding:.5rem .75rem}`,
  `.muted{color:${p.muted}}`,
  // The absolute time under (in a table) or beside (stacked) the relative one.
  `small{display:block;font-size:.875rem;color:${p.muted}}`,
  'table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;padding:.25rem 0}',
  `th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid ${p.border};overflow-wrap:break-word}`,
  // Long user names and IPv6 addresses break anywhere rather than push the table sideways;
  // other cells keep their words whole.
  `th[scope=row],${breakAnywhereSelector(TABLES)}{overflow-wrap:anywhere}`,
  // Buttons in a table row are secondary (no class per button: a 100-row table repeats them).
  `td button{color:${p.link};background:${p.panel};margin:0;padding:.3rem .75rem;white-space:nowrap}td small{white-space:nowrap}`,
  // Where there is room, a row's buttons stay on one line.
  '@media (min-width:64rem){td .actions{flex-wrap:nowrap}}',
  '.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}',
  'ul.links{padding-left:1.25rem}',
  'dt{font-weight:600}dd{margin:0 0 .5rem}',
  '@media (min-width:30rem){dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.5rem}dd{margin:0}}',
  '.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}.actions button{margin:0}',
  `a.button{display:inline-block;padding:.5rem 1rem;border:1px solid ${p.link};border-radius:4px;font-weight:600;text-decoration:none}`,
  // The add-user form: fields side by side where there is room, stacked on a phone.
  '.fields{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end}.fields>div{flex:1 1 12rem;max-width:20rem}.fields input,.fields select{width:100%;height:2.75rem}',
  // A one-time password is read off the screen: large, monospaced, on one line (19 characters fit 320 px), easy to select whole.
  '.otp{font:600 1.25rem/1.4 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.05em;user-select:all;white-space:nowrap}',
  // Phones: each table row a block, each cell a labelled line (labels from table.ts).
  `@media (max-width:${STACK_BELOW_REM - 0.01}rem){`
    + '.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}'
    + `.stack tr{display:block;padding:.5rem 0;border-bottom:1px solid ${p.border}}`
    + '.stack th,.stack td{display:block;border:0;padding:.1rem 0}'
    // A hanging label: the value and its absolute time line up beside it, not under it.
    + '.stack td{position:relative;padding-left:7rem}'
    + '.stack td::before{position:absolute;left:0;font-weight:600}'
    + '.stack td:last-child{padding:.4rem 0 0}'
    + `${stackedLabelCss(TABLES)}}`,
].join('');

/** `'sha256-<base64>'` of {@link PAGE_STYLE}, as CSP level 2 expects it. */
export const PAGE_STYLE_HASH = `'sha256-${createHash('sha256').update(PAGE_STYLE, 'utf8').digest('base64')}'`;

/**
 * The Content-Security-Policy for every HTML page: nothing loads but the inline style.
 * `form-action 'self'` also covers the 303 after a form post (same origin by `safeNextPath`).
 */
export const PAGE_CSP = `default-src 'none'; style-src ${PAGE_STYLE_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
