/**
 * A small Chrome DevTools Protocol driver over --remote-debugging-pipe (fd 3: we write,
 * fd 4: Chromium writes; messages are JSON separated by NUL bytes). Test support only:
 * enough to navigate, fill and submit forms (without page JavaScript), read cookies,
 * see the status and body of the last document response, go back, and take screenshots.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function findChromium(): string | undefined {
  const fromEnv = process.env['RINGLET_CHROMIUM'];
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p));
}

type Pending = { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void };
type Listener = (params: Record<string, unknown>, sessionId: string | undefined) => void;

export class Browser {
  private readonly child: ChildProcess;
  private readonly input: Writable;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly profileDir: string;
  private buffered = '';

  private constructor(child: ChildProcess, profileDir: string) {
    this.child = child;
    this.profileDir = profileDir;
    this.input = child.stdio[3] as Writable;
    const output = child.stdio[4] as Readable;
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => this.onData(chunk));
    child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('chromium exited'));
      this.pending.clear();
    });
  }

  /**
   * Starts headless Chromium. `extraArgs` are added to the command line, e.g.
   * `--host-resolver-rules=MAP router.test 127.0.0.1` to reach a loopback server under a
   * name that is not "potentially trustworthy" (plain HTTP as on a LAN, not as on localhost).
   */
  static async launch(extraArgs: readonly string[] = []): Promise<Browser> {
    const executable = findChromium();
    if (!executable) throw new Error('chromium not found');
    const profileDir = mkdtempSync(join(tmpdir(), 'ringlet-chromium-'));
    const child = spawn(executable, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-extensions', '--disable-default-apps', '--mute-audio', '--hide-scrollbars',
      `--user-data-dir=${profileDir}`, '--remote-debugging-pipe', ...extraArgs, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'], detached: true }); // own process group: close() ends all of it
    const browser = new Browser(child, profileDir);
    await browser.send('Browser.getVersion');
    return browser;
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let end: number;
    while ((end = this.buffered.indexOf('\0')) !== -1) {
      const message = JSON.parse(this.buffered.slice(0, end)) as {
        id?: number; result?: Record<string, unknown>; error?: { message: string };
        method?: string; params?: Record<string, unknown>; sessionId?: string;
      };
      this.buffered = this.buffered.slice(end + 1);
      if (message.id !== undefined) {
        const p = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) p?.reject(new Error(message.error.message));
        else p?.resolve(message.result ?? {});
      } else if (message.method) {
        for (const l of this.listeners.get(message.method) ?? []) l(message.params ?? {}, message.sessionId);
      }
    }
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const message = JSON.stringify(sessionId ? { id, method, params, sessionId } : { id, method, params });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.input.write(`${message}\0`);
    });
  }

  on(method: string, listener: Listener): () => void {
    let set = this.listeners.get(method);
    if (!set) this.listeners.set(method, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** A fresh page in its own browser context (its own cookie jar). */
  async newPage(): Promise<Page> {
    const { browserContextId } = await this.send('Target.createBrowserContext', { disposeOnDetach: true });
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank', browserContextId });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId as string, browserContextId as string);
    await page.call('Page.enable');
    await page.call('Network.enable');
    return page;
  }

  /** SIGKILL to Chromium's own process group (the browser and its helpers, nothing else). */
  private killGroup(): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // the group is already empty
    }
  }

  async close(): Promise<void> {
    const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const exited = this.child.exitCode !== null || this.child.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => this.child.once('exit', resolve));
    try {
      await Promise.race([this.send('Browser.close'), delay(2000)]);
    } catch {
      // already gone
    }
    await Promise.race([exited, delay(2000)]);
    this.killGroup();
    await exited;
    // Helper processes can outlive the browser process for a moment and still write the profile.
    this.killGroup();
    for (let attempt = 0; ; attempt++) {
      try {
        rmSync(this.profileDir, { recursive: true, force: true });
        return;
      } catch {
        // A leftover temp directory is not a test failure; give up quietly after ~2 s.
        if (attempt >= 20) return;
        await delay(100);
      }
    }
  }
}

export interface CookieInfo {
  name: string; value: string; httpOnly: boolean; secure: boolean; sameSite?: string; path: string; expires: number; session: boolean;
}

/** The last top-level document response a page received (after any redirects). */
export interface DocumentResponse {
  requestId: string;
  url: string;
  status: number;
  /** Header names as the browser reports them; look up case-insensitively with `header()`. */
  headers: Record<string, string>;
}

/** A response header by name, case-insensitively. */
export function header(response: DocumentResponse | undefined, name: string): string | undefined {
  if (response === undefined) return undefined;
  const wanted = name.toLowerCase();
  const key = Object.keys(response.headers).find((k) => k.toLowerCase() === wanted);
  return key === undefined ? undefined : response.headers[key];
}

export class Page {
  private lastDocumentResponse: DocumentResponse | undefined;
  private readonly offResponses: () => void;

  constructor(private readonly browser: Browser, private readonly sessionId: string, readonly contextId: string) {
    this.offResponses = browser.on('Network.responseReceived', (params, sid) => {
      if (sid !== this.sessionId || params['type'] !== 'Document') return;
      const response = params['response'] as { url: string; status: number; headers: Record<string, string> };
      this.lastDocumentResponse = { requestId: params['requestId'] as string, url: response.url, status: response.status, headers: response.headers };
    });
  }

  /** The last document response: what a navigation or form submission ended with. */
  get lastDocument(): DocumentResponse | undefined {
    return this.lastDocumentResponse;
  }

  /** The body of a response the page received, as bytes (it must still be in the browser's buffer). */
  async responseBody(requestId: string): Promise<Buffer> {
    const { body, base64Encoded } = (await this.call('Network.getResponseBody', { requestId })) as { body: string; base64Encoded: boolean };
    return Buffer.from(body, base64Encoded ? 'base64' : 'utf8');
  }

  /** Ends this page's browser context (its tab and cookie jar). */
  async close(): Promise<void> {
    this.offResponses();
    try {
      await this.browser.send('Target.disposeBrowserContext', { browserContextId: this.contextId });
    } catch {
      // the browser is already gone
    }
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** Resolves on the next load event of this page (or rejects after `timeoutMs`). */
  waitForLoad(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error('page load timed out')); }, timeoutMs);
      const off = this.browser.on('Page.loadEventFired', (_p, sid) => {
        if (sid !== this.sessionId) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  async goto(url: string): Promise<void> {
    const loaded = this.waitForLoad();
    const result = await this.call('Page.navigate', { url });
    if (result['errorText']) throw new Error(`navigation failed: ${String(result['errorText'])}`);
    await loaded;
  }

  async url(): Promise<string> {
    const { currentIndex, entries } = (await this.call('Page.getNavigationHistory')) as { currentIndex: number; entries: Array<{ url: string }> };
    return entries[currentIndex]?.url ?? '';
  }

  async html(): Promise<string> {
    const { root } = (await this.call('DOM.getDocument', { depth: 0 })) as { root: { nodeId: number } };
    const { outerHTML } = await this.call('DOM.getOuterHTML', { nodeId: root.nodeId });
    return outerHTML as string;
  }

  private async nodeId(selector: string): Promise<number> {
    const { root } = (await this.call('DOM.getDocument', { depth: 0 })) as { root: { nodeId: number } };
    const { nodeId } = (await this.call('DOM.querySelector', { nodeId: root.nodeId, selector })) as { nodeId: number };
    if (!nodeId) throw new Error(`no element matches ${selector}`);
    return nodeId;
  }

  /** Types into a field the way a person does (works with page JavaScript disabled). */
  async fill(selector: string, text: string): Promise<void> {
    const nodeId = await this.nodeId(selector);
    await this.call('DOM.focus', { nodeId });
    // Select what is there so typing replaces it.
    await this.call('Input.dispatchKeyEvent', { type: 'keyDown', key: 'a', code: 'KeyA', modifiers: 2, commands: ['selectAll'] });
    await this.call('Input.dispatchKeyEvent', { type: 'keyUp', key: 'a', code: 'KeyA', modifiers: 2 });
    await this.call('Input.insertText', { text });
  }

  /**
   * Presses a key the way a keyboard does (keyDown, then keyUp), on whatever has focus:
   * Tab, Shift+Tab, Enter, Space, the arrows. Enter and Space carry their text, so a focused
   * button is pressed and a form submitted as a person's keyboard would.
   */
  async press(key: 'Tab' | 'Enter' | ' ' | 'ArrowDown' | 'ArrowUp' | 'Escape', options: { shift?: boolean } = {}): Promise<void> {
    const KEYS = {
      Tab: { code: 'Tab', windowsVirtualKeyCode: 9, text: undefined },
      Enter: { code: 'Enter', windowsVirtualKeyCode: 13, text: '\r' },
      ' ': { code: 'Space', windowsVirtualKeyCode: 32, text: ' ' },
      ArrowDown: { code: 'ArrowDown', windowsVirtualKeyCode: 40, text: undefined },
      ArrowUp: { code: 'ArrowUp', windowsVirtualKeyCode: 38, text: undefined },
      Escape: { code: 'Escape', windowsVirtualKeyCode: 27, text: undefined },
    } as const;
    const k = KEYS[key];
    const modifiers = options.shift === true ? 8 : 0;
    const base = { key, code: k.code, windowsVirtualKeyCode: k.windowsVirtualKeyCode, nativeVirtualKeyCode: k.windowsVirtualKeyCode, modifiers };
    await this.call('Input.dispatchKeyEvent', k.text === undefined ? { type: 'rawKeyDown', ...base } : { type: 'keyDown', ...base, text: k.text, unmodifiedText: k.text });
    await this.call('Input.dispatchKeyEvent', { type: 'keyUp', ...base });
  }

  /** Presses a key that navigates (Enter on a submit button) and waits for the page it loads. */
  async pressAndWait(key: 'Enter' | ' '): Promise<void> {
    const loaded = this.waitForLoad();
    await this.press(key);
    await loaded;
  }

  /** Types text into whatever has focus (a field reached by Tab). */
  async type(text: string): Promise<void> {
    await this.call('Input.insertText', { text });
  }

  async value(selector: string): Promise<string | undefined> {
    const html = await this.call('DOM.getOuterHTML', { nodeId: await this.nodeId(selector) });
    const match = /\svalue="([^"]*)"/.exec(html['outerHTML'] as string);
    return match?.[1];
  }

  /** Clicks the centre of an element and waits for the navigation it causes. */
  async clickAndWait(selector: string): Promise<void> {
    const nodeId = await this.nodeId(selector);
    await this.call('DOM.scrollIntoViewIfNeeded', { nodeId });
    const { model } = (await this.call('DOM.getBoxModel', { nodeId })) as { model: { content: number[] } };
    const [x1, y1, , , x3, y3] = model.content as [number, number, number, number, number, number];
    const x = (x1 + x3) / 2;
    const y = (y1 + y3) / 2;
    const loaded = this.waitForLoad();
    await this.call('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', clickCount: 1 });
    await this.call('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', clickCount: 1 });
    await loaded;
  }

  async evaluate(expression: string): Promise<unknown> {
    const { result, exceptionDetails } = (await this.call('Runtime.evaluate', { expression, returnByValue: true })) as {
      result: { value?: unknown }; exceptionDetails?: unknown;
    };
    if (exceptionDetails) throw new Error('evaluation failed');
    return result.value;
  }

  async setJavaScriptEnabled(enabled: boolean): Promise<void> {
    await this.call('Emulation.setScriptExecutionDisabled', { value: !enabled });
  }

  async cookies(url: string): Promise<CookieInfo[]> {
    const { cookies } = await this.call('Network.getCookies', { urls: [url] });
    return cookies as CookieInfo[];
  }

  /**
   * Presses Back. Resolves on the load event, or on a restore from the back/forward cache
   * (which fires no load event); tells which one happened.
   */
  async back(timeoutMs = 10_000): Promise<'loaded' | 'bfcache'> {
    const { currentIndex, entries } = (await this.call('Page.getNavigationHistory')) as { currentIndex: number; entries: Array<{ id: number }> };
    const previous = entries[currentIndex - 1];
    if (!previous) throw new Error('no history entry to go back to');
    const settled = new Promise<'loaded' | 'bfcache'>((resolve, reject) => {
      const done = (how: 'loaded' | 'bfcache') => { clearTimeout(timer); offLoad(); offRestore(); resolve(how); };
      const timer = setTimeout(() => { offLoad(); offRestore(); reject(new Error('back navigation timed out')); }, timeoutMs);
      const offLoad = this.browser.on('Page.loadEventFired', (_p, sid) => { if (sid === this.sessionId) done('loaded'); });
      const offRestore = this.browser.on('Page.frameNavigated', (p, sid) => {
        if (sid === this.sessionId && p['type'] === 'BackForwardCacheRestore') done('bfcache');
      });
    });
    await this.call('Page.navigateToHistoryEntry', { entryId: previous.id });
    return settled;
  }

  async screenshot(width: number, height: number, mobile: boolean): Promise<Buffer> {
    await this.call('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile });
    const { data } = await this.call('Page.captureScreenshot', { format: 'png', captureBeyondViewport: false });
    return Buffer.from(data as string, 'base64');
  }
}
