import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, as PEM text and as files on disk. */
export interface CertificateFiles {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
  /** The certificate in DER form (what a JWT `x5c` header carries, base64-encoded). */
  certDer: Buffer;
}

export interface LeafOptions {
  /** File name stem inside the directory: `<name>.crt` and `<name>.key`. */
  name: string;
  commonName: string;
  /**
   * `server`: a TLS server certificate (serverAuth, with subjectAltName entries).
   * `signing`: a plain signing certificate (for example a token issuer's JWT key).
   */
  kind: 'server' | 'signing';
  ipAddresses?: string[];
  dnsNames?: string[];
}

/** P-256 keys: generated in milliseconds, and usable for ES256 JWT signatures as well as TLS. */
const newKeyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}

/**
 * Our own minimal config file, so the result does not depend on the machine's openssl.cnf
 * (whose default extensions differ between distributions).
 */
function configFile(commonName: string, section: string, extensions: string[]): string {
  if (/[\r\n]/.test(commonName)) throw new Error(`a common name cannot contain a line break: ${commonName}`);
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    `CN = ${commonName}`,
    `[${section}]`,
    ...extensions,
    '',
  ].join('\n');
}

async function readPair(certPath: string, keyPath: string): Promise<CertificateFiles> {
  const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { certPem, keyPem, certPath, keyPath, certDer: new X509Certificate(certPem).raw };
}

/** A self-signed certificate authority valid for a day, written to `<dir>/<name>.crt|.key`. */
export async function createCertificateAuthority(
  dir: string,
  name: string,
  commonName: string,
): Promise<CertificateFiles> {
  const configPath = join(dir, `${name}.cnf`);
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await writeFile(
    configPath,
    configFile(commonName, 'ca', [
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
    ]),
  );
  await openssl([
    'req',
    '-x509',
    '-new',
    ...newKeyArgs,
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '1',
    '-config',
    configPath,
    '-extensions',
    'ca',
  ]);
  await rm(configPath);
  return readPair(certPath, keyPath);
}

/** A certificate signed by `ca`, valid for a day, written to `<dir>/<name>.crt|.key`. */
export async function issueCertificate(
  ca: CertificateFiles,
  dir: string,
  options: LeafOptions,
): Promise<CertificateFiles> {
  const configPath = join(dir, `${options.name}.cnf`);
  const requestPath = join(dir, `${options.name}.csr`);
  const certPath = join(dir, `${options.name}.crt`);
  const keyPath = join(dir, `${options.name}.key`);
  const extensions = ['basicConstraints = critical, CA:FALSE', 'authorityKeyIdentifier = keyid'];
  if (options.kind === 'server') {
    const altNames = [
      ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`),
      ...(options.dnsNames ?? []).map((dns) => `DNS:${dns}`),
    ];
    // Go and Node ignore the common name when checking a host: without SANs the cert matches nothing.
    if (altNames.length === 0)
      throw new Error('a server certificate needs at least one IP address or DNS name');
    extensions.push(
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${altNames.join(', ')}`,
    );
  } else {
    extensions.push('keyUsage = critical, digitalSignature');
  }
  await writeFile(configPath, configFile(options.commonName, 'leaf', extensions));
  await openssl([
    'req',
    '-new',
    ...newKeyArgs,
    '-keyout',
    keyPath,
    '-out',
    requestPath,
    '-config',
    configPath,
  ]);
  await openssl([
    'x509',
    '-req',
    '-in',
    requestPath,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    '1',
    '-extfile',
    configPath,
    '-extensions',
    'leaf',
    '-out',
    certPath,
  ]);
  await Promise.all([rm(configPath), rm(requestPath)]);
  return readPair(certPath, keyPath);
}

/** A fresh CA and a server certificate it signed for 127.0.0.1 and localhost. */
export async function createServerCertificate(dir: string): Promise<{
  ca: CertificateFiles;
  server: CertificateFiles;
}> {
  const ca = await createCertificateAuthority(dir, 'ca', 'digestline test CA');
  const server = await issueCertificate(ca, dir, {
    name: 'server',
    commonName: '127.0.0.1',
    kind: 'server',
    ipAddresses: ['127.0.0.1'],
    dnsNames: ['localhost'],
  });
  return { ca, server };
}
