/** Progress lines on stderr, only when stderr is a terminal (CI logs stay clean). */
export function progress(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
}

export const MiB = 1024 * 1024;

export function mib(bytes: number, digits = 1): string {
  return Number.isFinite(bytes) ? (bytes / MiB).toFixed(digits) : '-';
}
