/**
 * Installs made the way the README's install recipe makes them (`npm pack`, then the
 * recipe's `npm install --global --prefix ...` line), and CLI servers started from a
 * recipe's command line, for the tests that run deployment recipes end to end.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandsStartingWith, readmeRecipe, REPO_ROOT } from './readme.js';

const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

/** The file name `npm pack` gives this package. */
export const TARBALL = `ringlet-${PACKAGE.version}.tgz`;

/** The CLI's file inside the package (package.json `bin`): the one place that names it. */
export const PACKAGE_BIN = PACKAGE.bin['ringlet'] as string;

export interface Packed {
  dir: string;
  tarball: string;
  remove(): void;
}

/** `npm pack` of this checkout (built already) into a fresh directory. */
export function packThisCheckout(): Packed {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  return { dir, tarball: join(dir, TARBALL), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs a recipe's one `npm install --global --prefix P ... ./ringlet-X.tgz` line in `cwd`,
 * with the tarball taken from `packed` and, when given, the prefix `from` replaced by `to`.
 * Returns the prefix used.
 */
export function npmInstallFromRecipe(recipe: string, packed: Packed, o: { cwd: string; prefix?: readonly [string, string] }): string {
  const lines = commandsStartingWith(readmeRecipe(recipe), 'npm install');
  if (lines.length !== 1) throw new Error(`README recipe ${recipe}: expected one npm install line, found ${lines.length}`);
  const words = lines[0] as string[];
  const at = words.indexOf('--prefix');
  if (at === -1 || !words.includes(`./${TARBALL}`)) throw new Error(`README recipe ${recipe}: expected --prefix P and ./${TARBALL}`);
  if (o.prefix !== undefined && words[at + 1] !== o.prefix[0]) throw new Error(`README recipe ${recipe}: the prefix is no longer ${o.prefix[0]}`);
  const args = words.slice(1).map((w, i) => (i + 1 === at + 1 && o.prefix !== undefined ? o.prefix[1] : w === `./${TARBALL}` ? packed.tarball : w));
  execFileSync('npm', args, { cwd: o.cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  return o.prefix?.[1] ?? join(o.cwd, words[at + 1] as string);
}

export interface CliServer {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns argv[0] with the rest, in exactly `env`, and waits for ringlet's listening line. */
export async function startCliServer(argv: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<CliServer> {
  const child = spawn(argv[0] as string, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s:\n${err}`)), 30_000);
    const check = () => {
      const m = /"event":"listening","url":"https?:\/\/[^"]*?:(\d+)\//.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stderr?.on('data', check);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${err}`));
    });
  });
  return {
    child,
    port,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}

/** A minimal environment: PATH only, plus what the recipe sets. Nothing of the test runner's leaks in. */
export function recipeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...extra };
}
