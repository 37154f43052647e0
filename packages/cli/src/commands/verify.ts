import type { Command } from '../main.js';

export const verifyCommand: Command = {
  name: 'verify-image',
  summary: 'Verifies an image signature and lists its signed attestations (SBOM, provenance, promotions).',
  usage: `Usage: digestline verify-image <image[:tag|@digest]> --key <cosign.pub> [--record-key <record.pub>]

  --key <cosign.pub>           the public key the signature and attestations must verify with
  --record-key <record.pub>    the key the promotion records are signed with, when it is not the image key
                               (the starters' RECORD_PRIVATE_KEY); records by the image key then do not count

A tag is resolved to its digest first and everything is checked against that digest. Exits 1 when the
image has no signature by the key; attestations that do not verify are listed as warnings.`,
  options: { key: { type: 'string' }, 'record-key': { type: 'string' } },
  run: async (args, io) => (await import('./verify-run.js')).verify(args, io),
};
