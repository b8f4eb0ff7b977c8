/**
 * A separate writer process for the users-file tests: adds COUNT users named PREFIX0..,
 * one locked read-modify-write each (what `ringlet users add` does, without the process
 * start-up per user, so many interleavings fit in a short test).
 *
 * Run: node users-writer.js PATH PREFIX COUNT HASH
 */
import { setUserPassword, updateUsersFile } from '../../src/users/index.js';

const [path, prefix, countText, hash] = process.argv.slice(2) as [string, string, string, string];
for (let i = 0; i < Number(countText); i++) {
  await updateUsersFile(path, (db) => setUserPassword(db, `${prefix}${i}`, hash, { role: 'viewer' }), { create: true });
  // Yield so the writers interleave rather than run in turns.
  await new Promise((resolve) => setImmediate(resolve));
}
