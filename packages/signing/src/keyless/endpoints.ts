import { ConfigurationError } from '@digestline/base';

/** The Sigstore instance to sign with: the public-good one, GitHub's, or a private one. */
export interface SigstoreEndpoints {
  fulcioURL: string;
  rekorURL: string;
  /** An RFC 3161 timestamp authority; without it the trusted time is Rekor's integrated time. */
  tsaURL?: string;
}

export const PUBLIC_GOOD_SIGSTORE: SigstoreEndpoints = {
  fulcioURL: 'https://fulcio.sigstore.dev',
  rekorURL: 'https://rekor.sigstore.dev',
};

function serviceURL(value: string | undefined, input: string, fallback?: string): string | undefined {
  const raw = value?.trim() || fallback;
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(
      `Input "${input}" must be a URL such as https://fulcio.sigstore.dev; got ${JSON.stringify(raw)}.`,
    );
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigurationError(
      `Input "${input}" must use https (plain http only to this machine); got ${JSON.stringify(raw)}: the identity token and signatures go there.`,
    );
  }
  return raw.replace(/\/$/, '');
}

/**
 * The Sigstore services as a user gave them (`names` says how the inputs are spelled): the public-good
 * Fulcio and Rekor by default, a timestamp authority only when one is named; https, or http to loopback.
 */
export function parseSigstoreEndpoints(
  given: { fulcio?: string; rekor?: string; tsa?: string },
  names: { fulcio: string; rekor: string; tsa: string },
): SigstoreEndpoints {
  const tsa = serviceURL(given.tsa, names.tsa);
  return {
    fulcioURL: serviceURL(given.fulcio, names.fulcio, PUBLIC_GOOD_SIGSTORE.fulcioURL) as string,
    rekorURL: serviceURL(given.rekor, names.rekor, PUBLIC_GOOD_SIGSTORE.rekorURL) as string,
    ...(tsa === undefined ? {} : { tsaURL: tsa }),
  };
}
