import {
  booleanInput,
  ConfigurationError,
  enumInput,
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
  verify: 'key' | 'none';
  publicKeyPem: string;
  /** Other repositories whose signatures of the digest count. */
  signatureReferences: string[];
  privateKeyPem: string;
  password: string;
  requireStageProof: boolean;
  githubToken?: string;
}

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

/**
 * Keyless verification needs Sigstore's public trust root, Fulcio and Rekor. @digestline/signing
 * verifies key-signed bundles only, so the path is refused up front rather than half done.
 */
function refuseKeyless(): never {
  const missing = [Input.certificateIdentity, Input.certificateOidcIssuer].filter(
    (n) => optionalString(n) === undefined,
  );
  const also =
    missing.length === 0 ? '' : ` (it would also need ${missing.map((n) => `"${n}"`).join(' and ')})`;
  throw new ConfigurationError(
    `verify: keyless is not available in this version of promote: it needs Sigstore's Fulcio and Rekor, which this action cannot check yet${also}. Sign with a key (cosign generate-key-pair) and set "public-key" (verify: key).`,
  );
}

export function readInputs(): PromoteInputs {
  // Secrets first: nothing below may print them before the runner knows to mask them.
  const privateKeyPem = secret(optionalString(Input.cosignPrivateKey));
  const password = secret(optionalString(Input.cosignPassword)) ?? '';
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
  if (verify === 'keyless') refuseKeyless();
  if (verify === 'key' && publicKeyPem === undefined) {
    throw new ConfigurationError(
      `Input "${Input.publicKey}" is required with verify: key; set it to the PEM that cosign public-key prints.`,
    );
  }
  if (publicKeyPem === undefined) {
    throw new ConfigurationError(
      `Input "${Input.publicKey}" is required even with verify: none: promotion records (the stage proof) are verified with it; set it to the public half of "${Input.cosignPrivateKey}".`,
    );
  }
  if (privateKeyPem === undefined) {
    throw new ConfigurationError(
      `Input "${Input.cosignPrivateKey}" is required: it signs the promotion record the next step checks; pass it from a secret, e.g. \${{ secrets.COSIGN_PRIVATE_KEY }}.`,
    );
  }
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
    signatureReferences: listInput(Input.signatureReferences),
    privateKeyPem,
    password,
    requireStageProof: booleanInput(Input.requireStageProof, true),
    githubToken: recordDeployment ? githubToken : undefined,
  };
}
