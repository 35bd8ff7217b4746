/** Kubernetes' rules for names that a receiver turns into paths: each rule against the members of the path-traversal family. */
import { describe, expect, it } from 'vitest';
import {
  configKeyError,
  containerNameError,
  mountPathError,
  namespaceNameError,
  objectNameError,
  subPathError,
  uidError,
  volumeItemPathError,
  volumeModeError,
} from '../../protocol/index.js';

/** Values that would escape or confuse a path if used as one component. */
const TRAVERSAL = ['..', '.', '../x', 'a/b', '/etc', 'a/../../b', '..\u0000x', 'x\u0000', ''];

describe('object name rules', () => {
  it.each([
    ['namespace', namespaceNameError, ['default', 'kube-system', 'a1'], [...TRAVERSAL, 'A', 'a.b', 'a_b', '-a', `${'a'.repeat(64)}`]],
    ['pod/ConfigMap/Secret name', objectNameError, ['web-0', 'web.example', 'a'], [...TRAVERSAL, 'Web', 'a_b', '.a', `${'a'.repeat(254)}`]],
    ['container/volume name', containerNameError, ['main', 'side-car'], [...TRAVERSAL, 'a.b', 'UPPER', `${'a'.repeat(64)}`]],
    ['uid', uidError, ['7b1d1a6e-2f40-4b0e-9a57-1b1f1f0e0c11', 'uid-7', 'A_b.c'], [...TRAVERSAL, '-x', '.hidden', 'a b', `${'a'.repeat(129)}`]],
    ['config key', configKeyError, ['app.conf', '.env', 'A_B-c.d', '_'], [...TRAVERSAL, '..data', '..x', 'a b', `${'a'.repeat(254)}`]],
  ] as const)('%s: accepts the valid, names why for each invalid', (_what, rule, valid, invalid) => {
    for (const value of valid) expect(rule(value), value).toBeUndefined();
    for (const value of invalid) expect(rule(value), JSON.stringify(value)).toMatch(/\w/);
  });

  it('volume item paths are relative, without .. or empty elements, and never start with ..', () => {
    for (const ok of ['a', 'a/b/c', 'conf/app.conf', 'x..y', '.hidden']) expect(volumeItemPathError(ok), ok).toBeUndefined();
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a/..', '..data', '..', 'a//b', 'a/./b', './a', 'a/\u0000']) {
      expect(volumeItemPathError(bad), JSON.stringify(bad)).toMatch(/\w/);
    }
  });

  it('subPaths are relative without ..; mountPaths have no .. element', () => {
    for (const ok of ['', 'a', 'a/b', 'x..y']) expect(subPathError(ok), ok).toBeUndefined();
    for (const bad of ['/abs', '..', '../x', 'a/../..', 'a\u0000']) expect(subPathError(bad), bad).toMatch(/\w/);
    for (const ok of ['/etc/app', '/data', 'rel']) expect(mountPathError(ok), ok).toBeUndefined();
    for (const bad of ['', '/a/../etc', '..', '/x\u0000']) expect(mountPathError(bad), bad).toMatch(/\w/);
  });

  it('modes are 0 to 0777', () => {
    for (const ok of [0, 0o400, 0o777]) expect(volumeModeError(ok)).toBeUndefined();
    for (const bad of [-1, 0o1000, 0o4755, 1.5]) expect(volumeModeError(bad)).toMatch(/0777/);
  });
});
