/**
 * Self-signed certificates for the HTTPS tests, made by the openssl CLI (as the README's TLS
 * recipe does); tests that need one skip with this reason when openssl is not installed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const NO_OPENSSL = 'openssl is not installed';

/** An EC P-256 key and a certificate for `subjectAltName` (e.g. `DNS:router.lan,IP:127.0.0.1`), written as key.pem and cert.pem in `dir`. */
export function selfSignedCertificate(dir: string, commonName: string, subjectAltName: string, days = 1): { cert: string; key: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', String(days),
    '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${subjectAltName}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}
