import type { Command } from '../main.js';

const KEY_OPTIONS = `  --pub <cosign.pub>         public key the signature and the promotion records must verify with
  --key <cosign.key>         cosign private key that signs the promotion record (password: COSIGN_PASSWORD)
  --record-key <record.key>  a key of their own for the promotion records, so the image key cannot mint a
                             stage proof: signs this step's record (password: RECORD_PASSWORD); --key is
                             then not needed
  --record-pub <record.pub>  verifies earlier promotion records instead of --pub; records signed by the
                             image key then do not count
  --environments <list>      the ladder (default dev,staging,canary,production)
  --tag-template <t>         the tag an environment owns (default {env})`;

const keyOptions = {
  pub: { type: 'string' },
  key: { type: 'string' },
  'record-key': { type: 'string' },
  'record-pub': { type: 'string' },
  environments: { type: 'string' },
  'tag-template': { type: 'string' },
} as const;

export const promoteCommand: Command = {
  name: 'promote',
  summary:
    'Promotes a signed digest one step along the ladder by re-tagging, after the same checks as the action.',
  usage: `Usage: digestline promote <registry/repository> --digest <sha256:…> --to <env> [--from <env>] --key <cosign.key> --pub <cosign.pub>

  --digest <sha256:…>        the digest to promote (a tag is refused: it can move)
  --from <env>               where it was tested; omit only for the first environment
  --to <env>                 the next environment on the ladder
  --target-image <repo>      another repository or registry that holds the environment tags; the image
                             is copied there with progress once every check has passed
  --skip-signature           do not check the image signature (the promotion record is still required)
  --signature-references <list>
                             other repositories whose signatures of the digest count (by default only a
                             signature made for this repository or --target-image does)
${KEY_OPTIONS}`,
  options: {
    ...keyOptions,
    digest: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'target-image': { type: 'string' },
    'skip-signature': { type: 'boolean' },
    'signature-references': { type: 'string' },
  },
  run: async (args, io) => (await import('./promote-run.js')).promoteRun(args, io),
};

export const rollbackCommand: Command = {
  name: 'rollback',
  summary:
    'Re-tags an environment to the digest it ran before (or to --to), if that digest has a record there.',
  usage: `Usage: digestline rollback <env> --image <registry/repository> [--to <sha256:…>] --key <cosign.key> --pub <cosign.pub>

  --image <repo>             the repository whose environment tag moves back
  --to <sha256:…>            the digest to return to; default: the one the current digest's promotion
                             record says the environment ran before
${KEY_OPTIONS}`,
  options: { ...keyOptions, image: { type: 'string' }, to: { type: 'string' } },
  run: async (args, io) => (await import('./promote-run.js')).rollbackRun(args, io),
};
