/**
 * An http(s) URL as given, which may carry `user:password@`: fetch refuses such URLs (and quotes them,
 * password included, in its error), so the userinfo travels as Basic authorization instead and only a
 * form without the password is ever shown.
 */
export interface Endpoint {
  /** The URL without userinfo: what is requested. */
  url: string;
  /** `authorization: Basic …` when the URL had userinfo. */
  headers: Record<string, string>;
  /** The URL with its user but without the password: what messages name. */
  display: string;
}

export function endpoint(raw: string): Endpoint {
  const url = new URL(raw);
  if (url.username === '' && url.password === '') return { url: raw, headers: {}, display: raw };
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const basic = Buffer.from(`${user}:${password}`).toString('base64');
  url.password = '';
  const display = url.href;
  url.username = '';
  return { url: url.href, headers: { authorization: `Basic ${basic}` }, display };
}

/** The password of a URL's userinfo, as written and decoded: what a runner must mask. Empty without one. */
export function endpointSecrets(raw: string): string[] {
  let password: string;
  try {
    password = new URL(raw).password;
  } catch {
    return [];
  }
  return [...new Set([password, decodeURIComponent(password)])].filter((s) => s !== '');
}

/** The URL to show in a message: without the password, whatever the URL. */
export function displayUrl(raw: string): string {
  try {
    return endpoint(raw).display;
  } catch {
    return raw.replace(/\/\/[^/@]*@/, '//');
  }
}
