/**
 * Registry credentials from a Pod's imagePullSecrets, matched to an image the way Kubernetes'
 * credentialprovider keyring does: `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`,
 * `{"auths": {...}}`) and `kubernetes.io/dockercfg` (`.dockercfg`) entries, keyed by
 * `[scheme://]host[:port][/path]` where each dot-separated part of the host may be a glob
 * (`*.example.com`); an entry matches an image whose registry host matches part for part, whose
 * port is the same, and whose repository path starts with the entry's path. The most specific
 * entries come first; the puller tries each in turn, then anonymously only when none matched.
 * An image without a registry host is Docker Hub's (`docker.io`, also written `index.docker.io`).
 */
import type { AuthConfig } from './cri-types.js';

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

export interface ImageLocation {
  /** host[:port] of the registry; docker.io for Docker Hub. */
  host: string;
  /** The repository path: `library/busybox`, `edge-test/private`. */
  path: string;
}

/** Where an image reference points (`name[:tag][@digest]`), as the Docker reference grammar reads it. */
export function imageLocation(image: string): ImageLocation {
  let name = image.split('@')[0] ?? image;
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  let host = DOCKER_HUB;
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
    name = name.slice(slash + 1);
  }
  const colon = name.lastIndexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  if (DOCKER_HUB_ALIASES.has(host)) {
    host = DOCKER_HUB;
    if (!name.includes('/')) name = `library/${name}`;
  }
  return { host, path: name };
}

interface Entry {
  key: string;
  hostParts: string[];
  port: string;
  path: string;
  auth: AuthConfig;
}

/** One secret's registry entries; undefined when it is not a docker config secret or cannot be read. */
export function parseDockerConfigSecret(secret: { type?: unknown; data?: unknown }): Record<string, unknown> | undefined {
  const data = secret.data && typeof secret.data === 'object' ? (secret.data as Record<string, unknown>) : {};
  try {
    if (secret.type === 'kubernetes.io/dockerconfigjson' && typeof data['.dockerconfigjson'] === 'string') {
      const parsed = JSON.parse(Buffer.from(data['.dockerconfigjson'], 'base64').toString('utf8')) as { auths?: unknown };
      return parsed.auths && typeof parsed.auths === 'object' ? (parsed.auths as Record<string, unknown>) : undefined;
    }
    if (secret.type === 'kubernetes.io/dockercfg' && typeof data['.dockercfg'] === 'string') {
      const parsed = JSON.parse(Buffer.from(data['.dockercfg'], 'base64').toString('utf8')) as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function toEntry(key: string, value: unknown): Entry | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const fields = value as Record<string, unknown>;
  let username = typeof fields.username === 'string' ? fields.username : '';
  let password = typeof fields.password === 'string' ? fields.password : '';
  if (!username && !password && typeof fields.auth === 'string') {
    const decoded = Buffer.from(fields.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return undefined;
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const schemeless = key.replace(/^[a-z]+:\/\//i, '');
  const slash = schemeless.indexOf('/');
  const hostPort = slash === -1 ? schemeless : schemeless.slice(0, slash);
  let path = slash === -1 ? '' : schemeless.slice(slash + 1).replace(/\/+$/, '');
  const portMatch = /^(.*?)(?::(\d+))?$/.exec(hostPort);
  let host = (portMatch?.[1] ?? hostPort).toLowerCase();
  if (!host) return undefined;
  if (DOCKER_HUB_ALIASES.has(host)) {
    host = DOCKER_HUB;
    if (path === 'v1' || path === 'v2') path = '';
  }
  // No server_address: containerd parses it as a URL, which a schemeless host:port is not; the
  // credentials go with this one pull of this one image anyway.
  const auth: AuthConfig = { username, password };
  if (typeof fields.identitytoken === 'string') auth.identityToken = fields.identitytoken;
  if (typeof fields.registrytoken === 'string') auth.registryToken = fields.registrytoken;
  return { key: schemeless.replace(/\/+$/, ''), hostParts: host.split('.'), port: portMatch?.[2] ?? '', path, auth };
}

/** A glob over one host part: `*` and `?`, as Go's filepath.Match for names without separators. */
function partMatches(glob: string, part: string): boolean {
  if (!glob.includes('*') && !glob.includes('?')) return glob === part;
  const pattern = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]*').replace(/\?/g, '[^.]');
  return new RegExp(`^${pattern}$`).test(part);
}

function matches(entry: Entry, location: ImageLocation): boolean {
  const [hostOnly, port = ''] = location.host.toLowerCase().split(':') as [string, string?];
  const parts = hostOnly.split('.');
  if (parts.length !== entry.hostParts.length) return false;
  if (!entry.hostParts.every((glob, index) => partMatches(glob, parts[index]!))) return false;
  if (entry.port !== port) return false;
  return entry.path === '' || location.path === entry.path || location.path.startsWith(`${entry.path}/`);
}

/** The credentials to try for `image`, most specific first; [] when no secret names its registry. */
export function credentialsFor(image: string, secrets: readonly { type?: unknown; data?: unknown }[]): AuthConfig[] {
  const location = imageLocation(image);
  const found: Entry[] = [];
  for (const secret of secrets) {
    const auths = parseDockerConfigSecret(secret);
    if (!auths) continue;
    for (const [key, value] of Object.entries(auths)) {
      const entry = toEntry(key, value);
      if (entry && matches(entry, location)) found.push(entry);
    }
  }
  // Longer keys (without a scheme) are more specific, as kube sorts its index; stable among equals.
  return found.sort((a, b) => b.key.length - a.key.length).map((entry) => entry.auth);
}
