/** Pull credentials matched to images as Kubernetes' keyring does, and imagePullPolicy defaults. */
import { describe, expect, it } from 'vitest';
import { credentialsFor, imageLocation } from '../../../../edge-agent/runtime/cri/docker-keyring.js';
import { pullPolicy } from '../../../../edge-agent/runtime/cri/image-pull-policy.js';

function dockerConfigJson(auths: Record<string, object>): { type: string; data: Record<string, string> } {
  return { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') } };
}

describe('image locations', () => {
  it('reads the registry host only from a first component with a dot, a port or localhost', () => {
    expect(imageLocation('busybox')).toEqual({ host: 'docker.io', path: 'library/busybox' });
    expect(imageLocation('user/app:1')).toEqual({ host: 'docker.io', path: 'user/app' });
    expect(imageLocation('index.docker.io/user/app')).toEqual({ host: 'docker.io', path: 'user/app' });
    expect(imageLocation('127.0.0.1:5000/edge/app:2')).toEqual({ host: '127.0.0.1:5000', path: 'edge/app' });
    expect(imageLocation('localhost/edge-test/busybox:1')).toEqual({ host: 'localhost', path: 'edge-test/busybox' });
    expect(imageLocation('reg.example.com/a/b@sha256:abc')).toEqual({ host: 'reg.example.com', path: 'a/b' });
  });
});

describe('credentials for an image', () => {
  const secrets = [
    dockerConfigJson({
      'https://reg.example.com': { username: 'host-wide', password: 'p1' },
      'reg.example.com/team': { auth: Buffer.from('team-user:p2').toString('base64') },
      '*.mirror.example.com': { username: 'glob', password: 'p3' },
      '127.0.0.1:5000': { username: 'local', password: 'p4' },
      'https://index.docker.io/v1/': { username: 'hub', password: 'p5' },
    }),
  ];

  it('matches host, port and path prefix, most specific first', () => {
    expect(credentialsFor('reg.example.com/team/app:1', secrets)).toEqual([
      { username: 'team-user', password: 'p2' },
      { username: 'host-wide', password: 'p1' },
    ]);
    expect(credentialsFor('reg.example.com/teamx/app:1', secrets)).toEqual([{ username: 'host-wide', password: 'p1' }]);
    expect(credentialsFor('eu.mirror.example.com/app', secrets)).toEqual([{ username: 'glob', password: 'p3' }]);
    expect(credentialsFor('a.b.mirror.example.com/app', secrets)).toEqual([]);
    expect(credentialsFor('127.0.0.1:5000/app', secrets)).toEqual([{ username: 'local', password: 'p4' }]);
    expect(credentialsFor('127.0.0.1:5001/app', secrets)).toEqual([]);
    expect(credentialsFor('busybox', secrets)).toEqual([{ username: 'hub', password: 'p5' }]);
  });

  it('reads legacy .dockercfg secrets and ignores other secrets and garbage', () => {
    const legacy = { type: 'kubernetes.io/dockercfg', data: { '.dockercfg': Buffer.from(JSON.stringify({ 'reg.example.com': { username: 'old', password: 'p' } })).toString('base64') } };
    const opaque = { type: 'Opaque', data: { '.dockerconfigjson': dockerConfigJson({ 'reg.example.com': { username: 'x', password: 'y' } }).data['.dockerconfigjson'] } };
    const broken = { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from('{not json').toString('base64') } };
    expect(credentialsFor('reg.example.com/app', [legacy, opaque, broken])).toEqual([{ username: 'old', password: 'p' }]);
  });
});

describe('imagePullPolicy defaults', () => {
  it('is Always for latest or untagged images, IfNotPresent for tags and digests, as given otherwise', () => {
    expect(pullPolicy('busybox', undefined)).toBe('Always');
    expect(pullPolicy('busybox:latest', undefined)).toBe('Always');
    expect(pullPolicy('127.0.0.1:5000/app', undefined)).toBe('Always');
    expect(pullPolicy('127.0.0.1:5000/app:1', undefined)).toBe('IfNotPresent');
    expect(pullPolicy('app@sha256:abc', undefined)).toBe('IfNotPresent');
    expect(pullPolicy('busybox', 'Never')).toBe('Never');
  });
});
