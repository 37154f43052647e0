import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { errorOf, type PromoteStage, startPromoteStage } from './promote-stage.js';

/**
 * Issue 13, item 10: the scrypt parameters in an encrypted cosign key are input to the built action. A
 * key whose parameters exceed what cosign writes is refused before scrypt runs and before the registry
 * (a real one, behind the fault proxy that records every request) is asked anything.
 */
let stage: PromoteStage;

beforeAll(async () => {
  stage = await startPromoteStage('open');
});
afterAll(() => stage?.stop());

/** The same encrypted key with its scrypt parameters replaced, as anyone able to set the secret could. */
function withParams(pem: string, params: { N: number; r: number; p: number }): string {
  const [, label = '', body = ''] = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END/.exec(pem) ?? [];
  const file = JSON.parse(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8'));
  file.kdf.params = params;
  const encoded = Buffer.from(JSON.stringify(file)).toString('base64');
  return `-----BEGIN ${label}-----\n${encoded.match(/.{1,64}/g)?.join('\n')}\n-----END ${label}-----\n`;
}

describe('promote with a cosign key whose scrypt parameters cosign never writes', () => {
  test('is refused naming the parameters, before deriving anything or asking the registry', async () => {
    const { keys, proxy } = stage;
    const params = { N: 65_536, r: 8, p: 2 };
    const result = await stage.promote('scrypt/app', `sha256:${'1'.repeat(64)}`, {
      'cosign-private-key': withParams(keys.encryptedPem, params),
    });

    expect(result.exitCode).toBe(1);
    const error = errorOf(result);
    // A derivation would have ended in "the password … is wrong": the parameters were refused first.
    expect(error).toContain(`scrypt parameters ${JSON.stringify(params)} are out of range`);
    expect(error).toContain('nothing was derived');
    expect(error).not.toContain('password for the cosign private key is wrong');
    expect(result.masks).toContain(keys.password);
    expect(result.log).not.toContain(keys.password);
    expect(proxy.requests()).toEqual([]);
  });
});
