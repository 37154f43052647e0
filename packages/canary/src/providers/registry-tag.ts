import { errorClass, type Logger, silentLogger } from '@digestline/base';
import { type RegistryClient, RegistryError } from '@digestline/oci';
import type { TrafficProvider } from '../types.js';

export interface ImageRepository {
  client: RegistryClient;
  repository: string;
}

export class DigestNotFoundError extends errorClass('DigestNotFoundError', 'DIGEST_NOT_FOUND', 'user') {}

/**
 * Checks that the canary digest exists and reads the digest a rollback restores: what `canaryTag` points
 * to now, or `stableTag`'s digest when there is no canary tag or it already points at this digest.
 * Runs before anything changes.
 */
export async function inspectImage(
  image: ImageRepository,
  digest: string,
  tags: { canaryTag: string; stableTag: string },
): Promise<{ previousDigest?: string }> {
  const { client, repository } = image;
  if ((await client.headManifest(repository, digest)) === undefined) {
    throw new DigestNotFoundError(
      `${client.registry}/${repository}@${digest} is not in the registry; push the image first, or check the digest and image inputs.`,
    );
  }
  // In the delivery ladder `promote staging→canary` has already moved the canary tag to this digest:
  // restoring the canary tag's own digest would then "roll back" to the release under test, so the
  // stable tag's digest is what a rollback must bring back.
  const canary = await client.headManifest(repository, tags.canaryTag);
  const previous =
    canary !== undefined && canary.digest !== digest
      ? canary
      : await client.headManifest(repository, tags.stableTag);
  return previous === undefined ? {} : { previousDigest: previous.digest };
}

/** Points `tag` at `digest` by pushing the manifest's exact bytes under the tag. */
export async function moveTag(image: ImageRepository, tag: string, digest: string): Promise<void> {
  const manifest = await image.client.getManifest(image.repository, digest);
  await image.client.putManifest(image.repository, tag, manifest.bytes, manifest.mediaType);
}

/**
 * The canary is whatever runs `canaryTag`: deploying moves the tag to the digest, rolling back moves it
 * to the previous digest. The share of traffic is up to whoever serves the tag, so weights are not
 * applied here, and promotion to the stable tag stays with the `promote` action, which verifies the
 * signature first.
 */
export class RegistryTagProvider implements TrafficProvider {
  readonly name = 'registry-tag';

  constructor(
    private readonly image: ImageRepository,
    private readonly options: { canaryTag: string; digest: string; previousDigest?: string },
    private readonly logger: Logger = silentLogger,
  ) {}

  deploy(): Promise<void> {
    return moveTag(this.image, this.options.canaryTag, this.options.digest);
  }

  async setWeight(): Promise<void> {}

  async promote(): Promise<void> {}

  /**
   * Compare-and-set: the tag goes back only while it points to the digest this run put there (read by
   * its bytes, not a header). Another run or a person who moved it since keeps what they put there.
   */
  async rollback(): Promise<void> {
    const { previousDigest, canaryTag, digest } = this.options;
    const { client, repository } = this.image;
    const now = await currentDigest(this.image, canaryTag);
    if (now !== digest) {
      this.logger.warning(
        `The rollback left ${client.registry}/${repository}:${canaryTag} as it is: it points to ${now ?? 'nothing'}, not to ${digest} that this run put there, so another run or a person moved it since.`,
      );
      return;
    }
    if (previousDigest === undefined) {
      throw new Error(
        `there is no previous digest to restore ${canaryTag} to: neither the canary tag nor the stable tag existed before; remove the tag by hand`,
      );
    }
    await moveTag(this.image, canaryTag, previousDigest);
  }
}

/** The digest of the manifest a tag names, hashed from the bytes the registry serves; undefined when absent. */
export async function currentDigest(image: ImageRepository, tag: string): Promise<string | undefined> {
  try {
    return (await image.client.getManifest(image.repository, tag)).digest;
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return undefined;
    throw error;
  }
}
