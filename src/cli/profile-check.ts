/** `ringlet profile check NAME|PATH`: validation plus the computed footprint against the budget. */
import { parseArgs } from 'node:util';
import { computeFootprint, formatFootprint } from '../config/footprint.js';
import { loadProfile } from '../config/profile.js';

const HELP = `Usage: ringlet profile check NAME|PATH [--json]

Validates a device profile (a name in device-profiles/ or a path to a .json file) and prints
its computed memory footprint against its budget. Exit 0 when it fits, 1 when over budget,
2 when invalid.
`;

export function runProfileCheck(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } }, allowPositionals: true });
  if (values.help || positionals[0] !== 'check' || positionals.length !== 2) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const profile = loadProfile(positionals[1]);
  const footprint = computeFootprint(profile);
  process.stdout.write(values.json ? `${JSON.stringify({ profile, footprint }, null, 2)}\n` : `${formatFootprint(profile.name, footprint)}\n`);
  return footprint.fits ? 0 : 1;
}
