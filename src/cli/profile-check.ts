/** `ringlet profile check NAME|PATH`: validation plus the computed footprint against the budget. */
import { parseArgs } from 'node:util';
import { computeFootprint, formatFootprint } from '../config/footprint.js';
import { loadProfile } from '../config/profile.js';
import type { DeviceProfile } from '../config/profile-schema.js';

const HELP = `Usage: ringlet profile check NAME|PATH [--json]

Validates a device profile (a name in device-profiles/ or a path to a .json file) and prints
its computed memory footprint against its budget, then the Node flags and launch
environment node must be started with for it. Exit 0 when it fits, 1 when over budget,
2 when invalid.
`;

/** How node must be started for this profile: the same lines the deployment recipes carry. */
function formatLaunch(profile: DeviceProfile): string {
  const env = Object.entries(profile.launchEnv).map(([name, value]) => `${name}=${value}`);
  return [
    `  ${'node flags'.padEnd(12)} ${profile.nodeFlags.join(' ') || '(none)'}`,
    `  ${'environment'.padEnd(12)} ${env.join(' ') || '(none)'}`,
  ].join('\n');
}

export function runProfileCheck(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } }, allowPositionals: true });
  if (values.help || positionals[0] !== 'check' || positionals.length !== 2) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const profile = loadProfile(positionals[1]);
  const footprint = computeFootprint(profile);
  process.stdout.write(values.json ? `${JSON.stringify({ profile, footprint }, null, 2)}\n` : `${formatFootprint(profile.name, footprint)}\n${formatLaunch(profile)}\n`);
  return footprint.fits ? 0 : 1;
}
