import { MediaType, type RegistryClient, sha256Digest } from '@digestline/oci';

/** An image of a config and no layers, pushed by digest: enough to sign and attest. Returns its digest. */
export async function pushConfigOnlyImage(
  client: RegistryClient,
  repository: string,
  config: Record<string, unknown>,
): Promise<string> {
  const blob = await client.pushBlob(repository, JSON.stringify(config));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, ...blob },
      layers: [],
    }),
  );
  return (await client.putManifest(repository, sha256Digest(manifest), manifest, MediaType.ociManifest))
    .digest;
}
