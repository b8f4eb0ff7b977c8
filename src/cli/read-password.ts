/**
 * Reading a new password for the CLI: from a terminal without echo (asked twice), or the
 * first line of piped standard input (for scripts: `printf '%s\n' "$pw" | ringlet ...`).
 */

/** Longest piped input read: a password is at most 1024 bytes; the rest is not read. */
const MAX_PIPED_BYTES = 4096;

/** Reads one line without echo from a TTY. */
function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let line = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(line);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new Error('interrupted'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > MAX_PIPED_BYTES) break;
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** The new password, or undefined when the two entries on a terminal differ. */
export async function readNewPassword(user: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return readPiped();
  const password = await readHidden(`New password for ${user}: `);
  const again = await readHidden('Repeat it: ');
  return again === password ? password : undefined;
}
