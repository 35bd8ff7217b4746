/** The sandbox root plan: host entries bound read-only, directories expanded only where a mount point must be created. */
import { describe, expect, it } from 'vitest';
import { planRoot, resolveOnHost, type HostFs } from '../../../edge-agent/runtime/bwrap-root.js';

/** A fake host: paths ending in / are directories, `a -> b` entries are symlinks, the rest files. */
function fakeFs(spec: string[]): HostFs {
  const kinds = new Map<string, 'dir' | 'symlink' | 'other'>([['/', 'dir']]);
  const links = new Map<string, string>();
  for (const line of spec) {
    const [pathPart, target] = line.split(' -> ');
    const clean = pathPart!.replace(/\/$/, '');
    if (target !== undefined) {
      kinds.set(clean, 'symlink');
      links.set(clean, target);
    } else kinds.set(clean, pathPart!.endsWith('/') ? 'dir' : 'other');
  }
  const resolve = (file: string): string => {
    for (const [link, target] of links) {
      if (file === link || file.startsWith(`${link}/`)) return resolve((target.startsWith('/') ? target : `/${target}`) + file.slice(link.length));
    }
    return file;
  };
  return {
    kind: (file) => kinds.get(file),
    exists: (file) => kinds.has(resolve(file)),
    readdir: (dir) =>
      [...kinds.keys()]
        .filter((file) => file !== '/' && file.slice(0, file.lastIndexOf('/')) === (dir === '/' ? '' : dir))
        .map((file) => file.slice(file.lastIndexOf('/') + 1))
        .sort(),
    readlink: (file) => links.get(file) ?? '',
    realpath: resolve,
  };
}

const host = fakeFs(['/bin -> usr/bin', '/etc/', '/etc/hosts', '/etc/ssl/', '/usr/', '/usr/bin/', '/var/', '/var/run -> /run', '/run/', '/proc/', '/dev/', '/tmp/', '/vmlinuz']);
const base = ['--symlink', 'usr/bin', '/bin'];
const specials = ['--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp'];

describe('planRoot', () => {
  it('binds every top-level entry read-only when all mount points exist', () => {
    expect(planRoot(['/etc/ssl', '/tmp/x'], host)).toEqual([
      ...base,
      '--ro-bind', '/etc', '/etc',
      '--ro-bind', '/run', '/run',
      '--ro-bind', '/usr', '/usr',
      '--ro-bind', '/var', '/var',
      '--ro-bind', '/vmlinuz', '/vmlinuz',
      ...specials,
    ]);
  });

  it('leaves / unbound at a missing top-level mount point (bwrap creates it on its tmpfs root)', () => {
    expect(planRoot(['/config'], host)).toEqual(planRoot([], host));
  });

  it('recreates the directories on the way to a missing nested mount point, one level at a time', () => {
    expect(planRoot(['/etc/app/config'], host)).toEqual([
      ...base,
      '--dir', '/etc',
      '--ro-bind', '/etc/hosts', '/etc/hosts',
      '--ro-bind', '/etc/ssl', '/etc/ssl',
      '--ro-bind', '/run', '/run',
      '--ro-bind', '/usr', '/usr',
      '--ro-bind', '/var', '/var',
      '--ro-bind', '/vmlinuz', '/vmlinuz',
      ...specials,
    ]);
  });

  it('resolves host symlinks in mount points so the plan expands the real directory', () => {
    expect(resolveOnHost('/var/run/app', host)).toBe('/run/app');
    const plan = planRoot([resolveOnHost('/var/run/app', host)], host);
    expect(plan).toContain('--dir');
    expect(plan.slice(plan.indexOf('--dir'), plan.indexOf('--dir') + 2)).toEqual(['--dir', '/run']);
  });
});
