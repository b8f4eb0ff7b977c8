/**
 * `ringlet profile check NAME|PATH`: validation, the computed footprint against the budget,
 * and the password-hashing cost against OWASP's scrypt table.
 */
import { parseArgs } from 'node:util';
import { computeFootprint, formatFootprint } from '../config/footprint.js';
import { loadProfile } from '../config/profile.js';
import type { DeviceProfile } from '../config/profile-schema.js';
import { describeScryptCost, meetsOwaspScryptMinimum, owaspMinimumP, type ScryptCost } from '../users/index.js';

const HELP = `Usage: ringlet profile check NAME|PATH [--json]

Validates a device profile (a name in device-profiles/ or a path to a .json file) and prints
its computed memory footprint against its budget, its scrypt cost against OWASP's table
(r=8: N=2^17 p=1, 2^16 p=2, 2^15 p=3, 2^14 p=5, 2^13 p=10, 2^12 p=20), then the Node flags
and launch environment node must be started with for it. Exit 0 when it fits, 1 when over
budget, 2 when invalid (a cost below the table is invalid unless the profile sets
insecureScryptBelowOwasp, meant for test suites).
`;

/** How node must be started for this profile: the same lines the deployment recipes carry. */
function formatLaunch(profile: DeviceProfile): string {
  const env = Object.entries(profile.launchEnv).map(([name, value]) => `${name}=${value}`);
  return [
    `  ${'node flags'.padEnd(12)} ${profile.nodeFlags.join(' ') || '(none)'}`,
    `  ${'environment'.padEnd(12)} ${env.join(' ') || '(none)'}`,
  ].join('\n');
}

export interface ScryptVerdict {
  cost: ScryptCost;
  memoryBytes: number;
  /** The smallest p meeting the table at this N and r (null: no p does). */
  owaspMinimumP: number | null;
  meetsOwasp: boolean;
  insecureOverride: boolean;
}

export function scryptVerdict(profile: DeviceProfile): ScryptVerdict {
  const cost = { logN: profile.scryptLogN, r: profile.scryptR, p: profile.scryptP };
  return {
    cost,
    memoryBytes: 128 * 2 ** cost.logN * cost.r,
    owaspMinimumP: owaspMinimumP(cost.logN, cost.r) ?? null,
    meetsOwasp: meetsOwaspScryptMinimum(cost),
    insecureOverride: profile.insecureScryptBelowOwasp,
  };
}

export function formatScryptVerdict(v: ScryptVerdict): string {
  const rule = v.owaspMinimumP === null ? 'no p is enough at this N and r' : `needs p >= ${v.owaspMinimumP} at this N and r`;
  return v.meetsOwasp
    ? `  password hashing: scrypt ${describeScryptCost(v.cost)} meets OWASP's scrypt table (${rule})`
    : `  password hashing: scrypt ${describeScryptCost(v.cost)} is BELOW OWASP's scrypt table (${rule}); accepted only because insecureScryptBelowOwasp is set`;
}

export function runProfileCheck(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } }, allowPositionals: true });
  if (values.help || positionals[0] !== 'check' || positionals.length !== 2) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const profile = loadProfile(positionals[1]);
  const footprint = computeFootprint(profile);
  const scrypt = scryptVerdict(profile);
  process.stdout.write(values.json
    ? `${JSON.stringify({ profile, footprint, scrypt }, null, 2)}\n`
    : `${formatFootprint(profile.name, footprint)}\n${formatScryptVerdict(scrypt)}\n${formatLaunch(profile)}\n`);
  return footprint.fits ? 0 : 1;
}
