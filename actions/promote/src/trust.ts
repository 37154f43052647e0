import type { PromotionSettings } from '@digestline/promotion';
import { loadPrivateKey, loadPublicKey, type TrustRoot } from '@digestline/signing';
import type { PromoteInputs } from './inputs.js';

/**
 * The keys, identities and trust root the inputs name, opened on the runner: the image rule (a key or a
 * keyless identity, with GitHub's attestations API as the last source) and the record rule with its
 * signer (a record key, this job's OIDC identity, or the image key pair of the old single-key setup).
 */
export async function trustSettings(
  inputs: PromoteInputs,
): Promise<
  Pick<PromotionSettings, 'publicKey' | 'privateKey' | 'keylessSignature' | 'records' | 'verifySignature'>
> {
  // Only a keyless rule loads the Sigstore trust machinery and octokit.
  const keyless = () => import('./keyless.js');
  let root: TrustRoot | undefined;
  const trustRoot = async () => {
    root ??= await (await keyless()).trustRoot(inputs.trustedRoot);
    return root;
  };
  const settings: Awaited<ReturnType<typeof trustSettings>> = { verifySignature: inputs.verify !== 'none' };
  if (inputs.publicKeyPem !== undefined) settings.publicKey = loadPublicKey(inputs.publicKeyPem);
  if (inputs.verify === 'keyless' && inputs.imageIdentity !== undefined) {
    const repository = process.env.GITHUB_REPOSITORY ?? '';
    settings.keylessSignature = {
      root: await trustRoot(),
      policy: inputs.imageIdentity,
      ...(inputs.attestationsToken === undefined || repository === ''
        ? {}
        : { github: (await keyless()).attestationsSource(inputs.attestationsToken, repository) }),
    };
  }
  const records = inputs.records;
  if (records.kind === 'keyless') {
    settings.records = {
      keyless: (await keyless()).jobSigner(inputs.sigstore),
      root: await trustRoot(),
      policy: records.policy,
    };
  } else if (records.kind === 'key') {
    settings.records = {
      publicKey: loadPublicKey(records.publicKeyPem),
      privateKey: await loadPrivateKey(records.privateKeyPem, records.password),
    };
  } else {
    settings.privateKey = await loadPrivateKey(records.privateKeyPem, records.password);
  }
  return settings;
}
