import { errorClass } from '@digestline/base';
import { isDigest } from './digest.js';

export class InvalidReferenceError extends errorClass('InvalidReferenceError', 'INVALID_REFERENCE', 'user') {}

export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  readonly name: string;
  toString(): string;
}

export const DOCKER_HUB = 'docker.io';

const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const REGISTRY = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[a-fA-F0-9:.]+\\])(?::[0-9]{1,5})?$`);
/** distribution's limit for registry/repository together. */
const MAX_NAME_LENGTH = 255;

export function isTag(value: string): boolean {
  return TAG.test(value);
}

class Reference implements ImageReference {
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly tag?: string,
    readonly digest?: string,
  ) {}

  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  toString(): string {
    return `${this.name}${this.tag === undefined ? '' : `:${this.tag}`}${this.digest === undefined ? '' : `@${this.digest}`}`;
  }
}

/**
 * Parses `[registry/]repository[:tag][@digest]` the way Docker does: a first component is a
 * registry only when it looks like a host (a dot, a port or `localhost`), otherwise the image is on
 * Docker Hub, where one-part names live under `library/`.
 */
export function parseReference(input: string, options: { defaultTag?: string } = {}): ImageReference {
  const fail = (problem: string): never => {
    throw new InvalidReferenceError(`invalid image reference ${JSON.stringify(input)}: ${problem}`);
  };
  if (input === '')
    fail('it is empty; expected [registry/]repository[:tag][@digest], e.g. ghcr.io/org/app:1.0');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(input);
  if (scheme !== null)
    fail(`remove the scheme ${JSON.stringify(scheme[0])}: a reference names a registry host, not a URL`);

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem !== undefined) fail(problem);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) fail(tagProblem(tag));
  }

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first === 'index.docker.io' ? DOCKER_HUB : first;
      repository = rest.slice(slash + 1);
    }
  }
  if (!REGISTRY.test(registry)) {
    fail(`registry ${JSON.stringify(registry)} is not a host name or IP address with an optional :port`);
  }
  const problem = repositoryProblem(repository);
  if (problem !== undefined) fail(problem);
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    fail(`the name ${registry}/${repository} is longer than ${MAX_NAME_LENGTH} characters`);
  }

  if (tag === undefined && digest === undefined && options.defaultTag !== undefined) {
    if (!isTag(options.defaultTag)) fail(`default ${tagProblem(options.defaultTag)}`);
    tag = options.defaultTag;
  }
  return new Reference(registry, repository, tag, digest);
}

function tagProblem(tag: string): string {
  return `tag ${JSON.stringify(tag)} must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} (at most 128 characters, not starting with . or -)`;
}

function digestProblem(digest: string): string | undefined {
  if (isDigest(digest)) return undefined;
  const algorithm = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):/.exec(digest)?.[1];
  if (algorithm !== undefined && algorithm !== 'sha256') {
    return `digest algorithm ${JSON.stringify(algorithm)} is not supported: use a sha256 digest`;
  }
  return `digest ${JSON.stringify(digest)} must be sha256: followed by 64 lower-case hex characters`;
}

function repositoryProblem(repository: string): string | undefined {
  if (repository === '') return 'the repository is missing';
  for (const component of repository.split('/')) {
    if (component === '') return `repository ${JSON.stringify(repository)} has an empty path component`;
    if (!PATH_COMPONENT.test(component)) {
      const why =
        component !== component.toLowerCase()
          ? 'must be lower case'
          : 'must be lower-case letters and digits, separated by ".", "_", "__" or "-"';
      return `repository path component ${JSON.stringify(component)} ${why}`;
    }
  }
  return undefined;
}

/** Guards the client's URL paths: a repository or reference from a caller must not be able to add path segments or a query. */
export function assertRepository(repository: string): void {
  const problem = repositoryProblem(repository);
  if (problem !== undefined) throw new InvalidReferenceError(`invalid repository: ${problem}`);
}

export function assertTagOrDigest(reference: string): void {
  if (isTag(reference) || isDigest(reference)) return;
  const problem = reference.includes(':') ? digestProblem(reference) : tagProblem(reference);
  throw new InvalidReferenceError(`invalid manifest reference: ${problem}`);
}

export function assertDigest(digest: string): void {
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new InvalidReferenceError(`invalid digest: ${problem}`);
}
