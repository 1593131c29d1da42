import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSignedCertificate {
  /** PEM file of the certificate (give it to a client as its `ca`). */
  certificate: string;
  /** PEM file of its unencrypted private key. */
  key: string;
  /** The certificate's PEM text. */
  pem: string;
}

/**
 * A self-signed EC (P-256) certificate for `localhost`, `127.0.0.1` and `::1`, valid
 * for two days, made by openssl into `dir`. A client that trusts it as its only CA
 * verifies the server fully (chain and name), as it would a real certificate.
 */
export async function makeSelfSignedCertificate(dir: string): Promise<SelfSignedCertificate> {
  const certificate = path.join(dir, 'certificate.pem');
  const key = path.join(dir, 'key.pem');
  // prettier-ignore
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc',
    '-keyout', key, '-out', certificate, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
  ], { timeout: 10000 });
  return { certificate, key, pem: readFileSync(certificate, 'utf8') };
}
