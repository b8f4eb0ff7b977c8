/**
 * `ringlet passwd USER [--role R]`: the original spelling of `ringlet users passwd`, kept
 * because scripts and the README's quick start use it. Same options, same locking.
 */
import { runUsersCommand } from './users.js';

export function runPasswd(argv: string[]): Promise<number> {
  return runUsersCommand('passwd', argv, 'ringlet passwd');
}
