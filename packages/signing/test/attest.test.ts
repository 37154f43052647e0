import { createHash, sign } from 'node:crypto';
import { createCertificateAuthority, makeTempDir } from '@digestline/local';
import { describe, expect, test } from '@jest/globals';
import {
  BUNDLE_MEDIA_TYPE,
  BundleVerificationError,
  generateKeyPair,
  imageSubject,
  keyId,
  keySigner,
  PredicateType,
  parseStatement,
  provenanceStatement,
  type SerializedBundle,
  StatementError,
  sbomStatement,
  signStatement,
  verifyBundle,
} from '../src/index.js';
import { cyclonedx, github, spdx } from './fixtures.js';

const digest = `sha256:${createHash('sha256').update('image').digest('hex')}`;
const subject = imageSubject('127.0.0.1:5000/team/app', digest);
function rejection(fn: () => unknown): BundleVerificationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BundleVerificationError) return error;
    throw error;
  }
  throw new Error('expected a BundleVerificationError');
}

describe('in-toto statements', () => {
  test('an SBOM gets the predicate type of its own format', () => {
    expect(sbomStatement(subject, spdx)).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: '127.0.0.1:5000/team/app', digest: { sha256: digest.slice(7) } }],
      predicateType: 'https://spdx.dev/Document',
      predicate: spdx,
    });
    expect(sbomStatement(subject, cyclonedx).predicateType).toBe('https://cyclonedx.org/bom');
    expect(() => sbomStatement(subject, { hello: 'world' })).toThrow(StatementError);
  });

  test('SLSA v1 provenance records the workflow run from a plain GitHub context', () => {
    const started = new Date('2025-01-02T03:04:05Z');
    const provenance = provenanceStatement(subject, github, { startedOn: started });
    expect(provenance.predicateType).toBe(PredicateType.slsaProvenance);
    expect(provenance.predicate).toEqual({
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {
          workflow: {
            ref: 'refs/heads/main',
            repository: 'https://github.com/octo/app',
            path: '.github/workflows/build.yml',
          },
        },
        internalParameters: { github: { event_name: 'push' } },
        resolvedDependencies: [
          { uri: 'git+https://github.com/octo/app@refs/heads/main', digest: { gitCommit: 'a'.repeat(40) } },
        ],
      },
      runDetails: {
        builder: { id: 'https://github.com/actions/runner/github-hosted' },
        metadata: {
          invocationId: 'https://github.com/octo/app/actions/runs/1234/attempts/2',
          startedOn: '2025-01-02T03:04:05.000Z',
        },
      },
    });
  });

  test('provenance takes a workflow path too, and refuses a workflow name or a short sha', () => {
    const byPath = provenanceStatement(subject, { ...github, workflow: '.github/workflows/build.yml' });
    expect(byPath.predicate.buildDefinition.externalParameters.workflow.path).toBe(
      '.github/workflows/build.yml',
    );
    expect(() => provenanceStatement(subject, { ...github, workflow: 'CI' })).toThrow(
      /is neither a workflow file path/,
    );
    expect(() => provenanceStatement(subject, { ...github, sha: 'abc123' })).toThrow(/not a 40-hex commit/);
  });

  test('parseStatement refuses what is not an in-toto v1 statement', () => {
    expect(() => parseStatement('{"_type":"https://in-toto.io/Statement/v0.1"}')).toThrow(StatementError);
    expect(() => parseStatement(JSON.stringify({ ...sbomStatement(subject, spdx), subject: [] }))).toThrow(
      /non-empty list/,
    );
  });
});

describe('sigstore bundles signed with a local key', () => {
  const { privateKey, publicKey } = generateKeyPair();

  test('an SBOM statement signs into a v0.3 DSSE bundle that verifies back to the statement', async () => {
    const statement = sbomStatement(subject, spdx);
    const bundle = await signStatement(statement, keySigner(privateKey));
    expect(bundle.mediaType).toBe(BUNDLE_MEDIA_TYPE);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.publicKey).toEqual({ hint: keyId(publicKey) });
    // No witness: offline there is no transparency log entry to carry.
    expect(bundle.verificationMaterial.tlogEntries ?? []).toEqual([]);
    expect(bundle.dsseEnvelope?.payloadType).toBe('application/vnd.in-toto+json');

    const verified = verifyBundle(bundle, publicKey, { subjectDigest: digest });
    expect(verified).toEqual({ statement, keyId: keyId(publicKey) });
    expect(
      verifyBundle(Buffer.from(JSON.stringify(bundle)), [generateKeyPair().publicKey, publicKey]).keyId,
    ).toBe(keyId(publicKey));
  });

  test('a changed statement is rejected as tampered', async () => {
    const bundle = await signStatement(provenanceStatement(subject, github), keySigner(privateKey));
    const envelope = bundle.dsseEnvelope as NonNullable<SerializedBundle['dsseEnvelope']>;
    const changed = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    changed.predicate.runDetails.builder.id = 'https://evil.example/builder';
    const tampered = {
      ...bundle,
      dsseEnvelope: { ...envelope, payload: Buffer.from(JSON.stringify(changed)).toString('base64') },
    };
    const error = rejection(() => verifyBundle(JSON.stringify(tampered), publicKey));
    expect(error.reason).toBe('tampered');
    expect(error.message).toMatch(
      /^the bundle names trusted key [a-f0-9]{64} but its signature does not verify/,
    );
  });

  test('a bundle by another key is rejected as untrusted, naming that key', async () => {
    const other = generateKeyPair();
    const bundle = await signStatement(sbomStatement(subject, cyclonedx), keySigner(other.privateKey));
    const error = rejection(() => verifyBundle(bundle, publicKey));
    expect(error.reason).toBe('untrusted-key');
    expect(error.message).toBe(
      `the bundle was signed by key ${keyId(other.publicKey)}, which is not one of the 1 trusted key(s)`,
    );
  });

  test('a forged key hint does not help a signature by another key', async () => {
    const other = generateKeyPair();
    const bundle = await signStatement(sbomStatement(subject, spdx), keySigner(other.privateKey));
    const forged = {
      ...bundle,
      verificationMaterial: { ...bundle.verificationMaterial, publicKey: { hint: keyId(publicKey) } },
    };
    expect(rejection(() => verifyBundle(JSON.stringify(forged), publicKey)).reason).toBe('tampered');
  });

  test('a statement about another image is a subject mismatch', async () => {
    const bundle = await signStatement(sbomStatement(subject, spdx), keySigner(privateKey));
    const other = `sha256:${'0'.repeat(64)}`;
    const error = rejection(() => verifyBundle(bundle, publicKey, { subjectDigest: other }));
    expect(error.reason).toBe('subject-mismatch');
  });

  test('what is not a sigstore bundle is malformed', () => {
    expect(rejection(() => verifyBundle('{"mediaType":"nope"}', publicKey)).reason).toBe('malformed-bundle');
    expect(rejection(() => verifyBundle('not json', publicKey)).reason).toBe('malformed-bundle');
  });
});

describe('keyless signing', () => {
  test('a certificate-signed bundle is refused by key verification, pointing at the trusted root', async () => {
    const dir = await makeTempDir('keyless');
    try {
      const { certPem, keyPem } = await createCertificateAuthority(dir.path, 'leaf', 'someone@example.com');
      const bundle = await signStatement(sbomStatement(subject, spdx), {
        sign: async (data) => ({
          signature: sign('sha256', data, keyPem),
          key: { $case: 'x509Certificate', certificate: certPem },
        }),
      });
      expect(bundle.verificationMaterial.certificate).toBeDefined();
      const error = rejection(() => verifyBundle(bundle, generateKeyPair().publicKey));
      expect(error.reason).toBe('untrusted-key');
      expect(error.message).toMatch(/keyless .* verify it against the Sigstore trusted root/);
    } finally {
      await dir.remove();
    }
  });
});
