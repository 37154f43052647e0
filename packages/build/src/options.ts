import type { Credentials, ImageReference } from '@digestline/oci';
import type { GitHubBuildContext, SigstoreEndpoints } from '@digestline/signing';
import type { OwnedTags, TagContext } from './tags.js';

/**
 * The build-and-sign inputs by the names users write in a workflow (action.yml must match): the one
 * place they are spelled, because the errors below say which input to fix.
 */
export const INPUT = {
  image: 'image',
  context: 'context',
  file: 'file',
  platforms: 'platforms',
  buildArgs: 'build-args',
  tags: 'tags',
  builder: 'builder',
  push: 'push',
  tag: 'tag',
  registryUsername: 'registry-username',
  registryPassword: 'registry-password',
  githubToken: 'github-token',
  signing: 'signing',
  cosignPrivateKey: 'cosign-private-key',
  cosignPassword: 'cosign-password',
  fulcioUrl: 'fulcio-url',
  rekorUrl: 'rekor-url',
  tsaUrl: 'tsa-url',
  tlogUpload: 'tlog-upload',
  sbom: 'sbom',
  provenance: 'provenance',
  mergeDigests: 'merge-digests',
  environments: 'environments',
  tagTemplate: 'tag-template',
} as const;

export const BUILDERS = ['auto', 'docker', 'buildah'] as const;
export type BuilderChoice = (typeof BUILDERS)[number];

export const SIGNING = ['auto', 'key', 'keyless', 'none'] as const;

/** Logging a key signature in Rekor: `auto` when Rekor answers, `true` required, `false` never. */
export const TLOG_UPLOAD = ['auto', 'true', 'false'] as const;
export type TlogUpload = (typeof TLOG_UPLOAD)[number];
export type SigningChoice = (typeof SIGNING)[number];

/** The registry whose default credentials are the workflow's own (`github.actor` and its token). */
export const GHCR = 'ghcr.io';

export type Signing =
  | {
      kind: 'key';
      pem: string;
      password: string;
      /** Where the key signature is logged too, and whether a Rekor that does not take it fails the run. */
      tlog?: { rekorURL: string; required: boolean };
    }
  | { kind: 'keyless'; sigstore: SigstoreEndpoints }
  | { kind: 'none' };
export type SbomSource = { kind: 'file'; path: string } | { kind: 'auto' } | { kind: 'none' };

/** One run, checked: what `buildAndSign` builds, pushes, signs, attests and tags. */
export interface BuildAndSignOptions {
  /** Per-run scratch space (builder storage, layouts, a generated SBOM). */
  runnerTemp: string;
  /** The repository images are pushed to, without tag or digest. */
  image: ImageReference;
  /** Absolute paths. */
  context: string;
  file: string;
  platforms: string[];
  buildArgs: string[];
  extraTags: string[];
  /** Tags that promote and cosign own: no tag from a git ref takes one, no extra tag may. */
  ownedTags: OwnedTags;
  builder: BuilderChoice;
  push: boolean;
  /** false: push by digest only, for per-platform jobs a later `merge-digests` job combines. */
  tag: boolean;
  credentials?: Credentials;
  signing: Signing;
  sbom: SbomSource;
  provenance: boolean;
  /** Per-platform manifest digests to merge into one index instead of building. */
  mergeDigests: string[];
  git: TagContext;
  run: GitHubBuildContext;
}
