import { resolve } from 'node:path';
import {
  booleanInput,
  ConfigurationError,
  enumInput,
  hasIdToken,
  listInput,
  log,
  optionalString,
  requiredString,
  secret,
} from '@digestline/action-kit';
import { type Credentials, parseReference } from '@digestline/oci';
import {
  DEFAULT_ENVIRONMENTS,
  DEFAULT_TAG_TEMPLATE,
  digestProblem,
  type PromotionMode,
} from '@digestline/promotion';
import {
  type IdentityPolicy,
  identityPolicy,
  parseSigstoreEndpoints,
  type SigstoreEndpoints,
} from '@digestline/signing';
import { GHCR, Input } from './constants.js';

export interface PromoteInputs {
  /** `registry/repository`, as given; @digestline/promotion's promotionRequest() parses it. */
  image: string;
  targetImage?: string;
  sourceCredentials?: Credentials;
  /** Default: `sourceCredentials`. */
  targetCredentials?: Credentials;
  digest: string;
  sourceEnv?: string;
  targetEnv: string;
  /** The ladder as written (comma or newline separated); empty for the default. */
  environments: string;
  mode: PromotionMode;
  tagTemplate: string;
  verify: 'key' | 'keyless' | 'none';
  /** The image key (verify: key), and the record key when records have none of their own. */
  publicKeyPem?: string;
  /** verify: keyless: who must have signed the image. */
  imageIdentity?: IdentityPolicy;
  /** Other repositories whose signatures of the digest count. */
  signatureReferences: string[];
  records: RecordInputs;
  /** A trusted_root.json for keyless checks; undefined: the public-good root through TUF. */
  trustedRoot?: string;
  /** Where a keyless record signature is certified and logged. */
  sigstore: SigstoreEndpoints;
  requireStageProof: boolean;
  /** For the GitHub Deployment; undefined with `record-deployment: false`. */
  githubToken?: string;
  /** For reading GitHub's attestations API, the last source of a keyless signature. */
  attestationsToken?: string;
}

/**
 * How promotion records are signed and checked, apart from images: a record key pair, this job's keyless
 * identity, or (the old single-key setup) the image key pair.
 */
export type RecordInputs =
  | { kind: 'key'; privateKeyPem: string; password: string; publicKeyPem: string }
  | { kind: 'keyless'; policy: IdentityPolicy }
  | { kind: 'image-key'; privateKeyPem: string; password: string; publicKeyPem: string };

/** The registry an image input names; undefined when it does not parse (promotionRequest() says why). */
function registryOf(image: string | undefined): string | undefined {
  try {
    return image === undefined ? undefined : parseReference(image).registry;
  } catch {
    return undefined;
  }
}

function credentials(
  userInput: string,
  passwordInput: string,
  registry: string | undefined,
  githubToken: string | undefined,
): Credentials | undefined {
  const password = secret(optionalString(passwordInput));
  const username = optionalString(userInput);
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigurationError(
      `Inputs "${userInput}" and "${passwordInput}" go together: set both or neither.`,
    );
  }
  // The workflow's token (github-token, or any ghs_ installation token) is GitHub's: elsewhere it is a leak.
  const isGitHubToken = password !== undefined && (password === githubToken || password.startsWith('ghs_'));
  if (isGitHubToken && registry !== undefined && registry !== GHCR) {
    throw new ConfigurationError(
      `Input "${passwordInput}" holds the workflow's GitHub token, which goes only to ghcr.io, not to ${registry}: pass that registry's own password or token from a secret.`,
    );
  }
  return username === undefined || password === undefined ? undefined : { username, password };
}

function imageIdentity(): IdentityPolicy {
  return identityPolicy(
    {
      identity: optionalString(Input.certificateIdentity),
      identityRegExp: optionalString(Input.certificateIdentityRegexp),
      issuer: optionalString(Input.certificateOidcIssuer),
      github: {
        repository: optionalString(Input.certificateGithubWorkflowRepository),
        ref: optionalString(Input.certificateGithubWorkflowRef),
        sha: optionalString(Input.certificateGithubWorkflowSha),
      },
    },
    {
      identity: Input.certificateIdentity,
      identityRegExp: Input.certificateIdentityRegexp,
      issuer: Input.certificateOidcIssuer,
    },
  );
}

/**
 * The record rules. Records are what the next step trusts as proof that a digest went through an
 * environment, so they are signed by something a build job does not hold: a record key (an environment
 * secret) or the keyless identity of the promote job itself.
 */
function recordInputs(
  secrets: { recordPem?: string; recordPassword: string; imagePem?: string; imagePassword: string },
  publicKeyPem: string | undefined,
): RecordInputs {
  const recordPublicKey = optionalString(Input.recordPublicKey);
  const keylessRule = [
    Input.recordCertificateIdentity,
    Input.recordCertificateIdentityRegexp,
    Input.recordCertificateOidcIssuer,
  ].some((name) => optionalString(name) !== undefined);
  if (secrets.recordPem !== undefined || recordPublicKey !== undefined) {
    if (keylessRule) {
      throw new ConfigurationError(
        `Set either the record key ("${Input.recordPrivateKey}", "${Input.recordPublicKey}") or the record identity ("${Input.recordCertificateIdentity}", "${Input.recordCertificateOidcIssuer}"), not both: one rule decides which records count.`,
      );
    }
    if (secrets.recordPem === undefined || recordPublicKey === undefined) {
      const missing = secrets.recordPem === undefined ? Input.recordPrivateKey : Input.recordPublicKey;
      throw new ConfigurationError(
        `Inputs "${Input.recordPrivateKey}" and "${Input.recordPublicKey}" go together (the record key signs this step's record and verifies the earlier ones); "${missing}" is empty.`,
      );
    }
    if (publicKeyPem !== undefined && publicKeyPem.trim() === recordPublicKey.trim()) {
      throw new ConfigurationError(
        `"${Input.recordPublicKey}" is the image key ("${Input.publicKey}"): whatever signs images could then mint stage proofs. Generate a separate key pair for records (cosign generate-key-pair) and keep its private half in the environments' secrets.`,
      );
    }
    return {
      kind: 'key',
      privateKeyPem: secrets.recordPem,
      password: secrets.recordPassword,
      publicKeyPem: recordPublicKey,
    };
  }
  if (keylessRule) {
    const policy = identityPolicy(
      {
        identity: optionalString(Input.recordCertificateIdentity),
        identityRegExp: optionalString(Input.recordCertificateIdentityRegexp),
        issuer: optionalString(Input.recordCertificateOidcIssuer),
        github: { repository: optionalString(Input.recordCertificateGithubWorkflowRepository) },
      },
      {
        identity: Input.recordCertificateIdentity,
        identityRegExp: Input.recordCertificateIdentityRegexp,
        issuer: Input.recordCertificateOidcIssuer,
      },
    );
    if (!hasIdToken()) {
      throw new ConfigurationError(
        `Keyless promotion records are signed with this job's OIDC identity, which it does not have: add "permissions: id-token: write" to the promote job.`,
      );
    }
    return { kind: 'keyless', policy };
  }
  if (secrets.imagePem !== undefined && publicKeyPem !== undefined) {
    log.warning(
      `Promotion records are signed with the image key ("${Input.cosignPrivateKey}"), so whatever can sign images can also mint stage proofs: set "${Input.recordPrivateKey}" and "${Input.recordPublicKey}" (a key pair of their own), or "${Input.recordCertificateIdentity}" and "${Input.recordCertificateOidcIssuer}" (keyless).`,
    );
    return {
      kind: 'image-key',
      privateKeyPem: secrets.imagePem,
      password: secrets.imagePassword,
      publicKeyPem,
    };
  }
  throw new ConfigurationError(
    `Promotion records need a signer the build job does not hold: set "${Input.recordCertificateIdentity}" (or "${Input.recordCertificateIdentityRegexp}") and "${Input.recordCertificateOidcIssuer}" to sign them with this job's keyless identity (permissions: id-token: write), or "${Input.recordPrivateKey}" and "${Input.recordPublicKey}" for a record key pair.`,
  );
}

export function readInputs(): PromoteInputs {
  // Secrets first: nothing below may print them before the runner knows to mask them.
  const privateKeyPem = secret(optionalString(Input.cosignPrivateKey));
  const password = secret(optionalString(Input.cosignPassword)) ?? '';
  const recordPem = secret(optionalString(Input.recordPrivateKey));
  const recordPassword = secret(optionalString(Input.recordPassword)) ?? '';
  const githubToken = secret(optionalString(Input.githubToken));
  const image = requiredString(Input.image);
  const targetImage = optionalString(Input.targetImage);
  const sourceRegistry = registryOf(image);
  const targetRegistry = registryOf(targetImage) ?? sourceRegistry;
  const sourceCredentials = credentials(
    Input.registryUsername,
    Input.registryPassword,
    sourceRegistry,
    githubToken,
  );
  // The source's credentials serve a target on the same registry only: another registry never sees them.
  const targetCredentials =
    credentials(Input.targetRegistryUsername, Input.targetRegistryPassword, targetRegistry, githubToken) ??
    (targetRegistry === sourceRegistry ? sourceCredentials : undefined);
  if (targetCredentials === undefined && sourceCredentials !== undefined) {
    log.info(
      `"${Input.targetImage}" is on ${targetRegistry}, not ${sourceRegistry}: "${Input.registryUsername}" and "${Input.registryPassword}" are not sent there; set "${Input.targetRegistryUsername}" and "${Input.targetRegistryPassword}" if it needs credentials.`,
    );
  }

  const digest = requiredString(Input.digest).trim();
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new ConfigurationError(`Input "${Input.digest}": ${problem}`);

  // The ladder, the step and the tag template are checked by promote() before it reads the registry.
  const environments = optionalString(Input.environments) ?? DEFAULT_ENVIRONMENTS.join(',');
  const mode = enumInput(Input.mode, ['promote', 'rollback'] as const, 'promote');
  const sourceEnv = optionalString(Input.sourceEnv);
  const targetEnv = requiredString(Input.targetEnv);
  const tagTemplate = optionalString(Input.tagTemplate) ?? DEFAULT_TAG_TEMPLATE;

  const publicKeyPem = optionalString(Input.publicKey);
  const verify = enumInput(
    Input.verify,
    ['key', 'keyless', 'none'] as const,
    publicKeyPem === undefined ? 'keyless' : 'key',
  );
  if (verify === 'key' && publicKeyPem === undefined) {
    throw new ConfigurationError(
      `Input "${Input.publicKey}" is required with verify: key; set it to the PEM that cosign public-key prints.`,
    );
  }
  const identity = verify === 'keyless' ? imageIdentity() : undefined;
  const records = recordInputs(
    { recordPem, recordPassword, imagePem: privateKeyPem, imagePassword: password },
    publicKeyPem,
  );
  const given = optionalString(Input.trustedRoot);
  const trustedRoot = given === undefined ? undefined : resolve(process.env.GITHUB_WORKSPACE || '.', given);
  const sigstore = parseSigstoreEndpoints(
    {
      fulcio: optionalString(Input.fulcioUrl),
      rekor: optionalString(Input.rekorUrl),
      tsa: optionalString(Input.tsaUrl),
    },
    { fulcio: Input.fulcioUrl, rekor: Input.rekorUrl, tsa: Input.tsaUrl },
  );
  const recordDeployment = booleanInput(Input.recordDeployment, true);
  if (recordDeployment && githubToken === undefined) {
    throw new ConfigurationError(
      `Input "${Input.githubToken}" is empty but "${Input.recordDeployment}" is true: pass github-token: \${{ github.token }} (with permissions deployments: write), or set record-deployment: false.`,
    );
  }

  return {
    image,
    targetImage,
    sourceCredentials,
    targetCredentials,
    digest,
    sourceEnv,
    targetEnv,
    environments,
    mode,
    tagTemplate,
    verify,
    publicKeyPem,
    ...(identity === undefined ? {} : { imageIdentity: identity }),
    signatureReferences: listInput(Input.signatureReferences),
    records,
    ...(trustedRoot === undefined ? {} : { trustedRoot }),
    sigstore,
    requireStageProof: booleanInput(Input.requireStageProof, true),
    githubToken: recordDeployment ? githubToken : undefined,
    ...(githubToken === undefined ? {} : { attestationsToken: githubToken }),
  };
}
