/**
 * The cgroup v2 driver against a fake cgroupfs tree (plain files with the kernel's names and
 * formats): this machine runs cgroup v1, so what is verified here is which files the driver
 * writes and reads and what it writes into them, not the kernel's enforcement (limits.test.ts
 * checks that on v1).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRel } from '../../../edge-agent/runtime/cgroup-driver.js';
import { detectCgroups } from '../../../edge-agent/runtime/cgroup-detect.js';
import { makeTempDir } from '../../helpers/tmp.js';

const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.remove();
});

/** A cgroup2 mount with the agent in /system.slice/edge-agent.service, whose controllers are delegated. */
function fakeMount(controllers = 'cpuset cpu io memory pids'): { mount: string; self: string; unit: string } {
  const tmp = makeTempDir('fake-cgroup2-');
  dirs.push(tmp);
  const mount = path.join(tmp.path, 'cgroup');
  const unit = path.join(mount, 'system.slice', 'edge-agent.service');
  mkdirSync(unit, { recursive: true });
  writeFileSync(path.join(mount, 'cgroup.controllers'), `${controllers}\n`);
  writeFileSync(path.join(unit, 'cgroup.controllers'), `${controllers}\n`);
  writeFileSync(path.join(unit, 'cgroup.procs'), '4242\n');
  const self = path.join(tmp.path, 'self-cgroup');
  writeFileSync(self, '0::/system.slice/edge-agent.service\n');
  return { mount, self, unit };
}

const read = (file: string) => readFileSync(file, 'utf8');

describe('cgroup v2 driver (fake cgroupfs)', () => {
  it('is detected on a cgroup2 mount and builds its subtree below the agent\'s delegated cgroup', () => {
    const { mount, self, unit } = fakeMount();
    const setup = detectCgroups({ dataDir: '/var/lib/edge-agent', mount, procSelfCgroup: self, root: '/system.slice/edge-agent.service/pods' });
    if (!setup.ok) throw new Error(setup.reason);
    expect(setup.driver.version).toBe(2);
    expect(read(path.join(unit, 'cgroup.subtree_control'))).toBe('+cpu +memory +pids');
    const root = path.join(unit, 'pods');
    setup.driver.ensure('podU1/app', { memoryBytes: 64 * 2 ** 20, cpuQuotaUs: 20_000, cpuShares: 1024, pids: 100 });
    expect(read(path.join(root, 'cgroup.subtree_control'))).toBe('+cpu +memory +pids');
    expect(read(path.join(root, 'podU1', 'cgroup.subtree_control'))).toBe('+cpu +memory +pids');
    const app = path.join(root, 'podU1', 'app');
    expect(read(path.join(app, 'memory.max'))).toBe(String(64 * 2 ** 20));
    expect(read(path.join(app, 'cpu.max'))).toBe('20000 100000');
    expect(read(path.join(app, 'cpu.weight'))).toBe('39');
    expect(read(path.join(app, 'pids.max'))).toBe('100');
    setup.driver.ensure('podU1/app', { cpuShares: 2 });
    expect(read(path.join(app, 'memory.max'))).toBe('max');
    expect(read(path.join(app, 'cpu.max'))).toBe('max 100000');
    expect(read(path.join(app, 'pids.max'))).toBe('max');
    expect(setup.driver.procsFiles('podU1/app')).toEqual([path.join(app, 'cgroup.procs')]);
  });

  it('reads OOM kills from memory.events and CPU time from cpu.stat, and removes cgroups without processes only', () => {
    const { mount, self, unit } = fakeMount();
    const setup = detectCgroups({ dataDir: '/d', mount, procSelfCgroup: self, root: '/system.slice/edge-agent.service/pods' });
    if (!setup.ok) throw new Error(setup.reason);
    const { driver } = setup;
    driver.ensure('podU2/app', {});
    const app = path.join(unit, 'pods', 'podU2', 'app');
    writeFileSync(path.join(app, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n');
    writeFileSync(path.join(app, 'cpu.stat'), 'usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n');
    expect(driver.oomKills('podU2/app')).toBe(2);
    expect(driver.cpuUsageUs('podU2/app')).toBe(123_456);
    writeFileSync(path.join(app, 'cgroup.procs'), '777\n');
    expect(driver.pids('podU2/app')).toEqual([777]);
    expect(driver.remove('podU2')).toBe(false);
    writeFileSync(path.join(app, 'cgroup.procs'), '');
    expect(driver.remove('podU2')).toBe(true);
    expect(driver.children('')).toEqual([]);
  });

  it('defaults to <own cgroup>/edge-sync/<scope> and reports controllers that are not delegated', () => {
    const { mount, self, unit } = fakeMount();
    const setup = detectCgroups({ dataDir: '/var/lib/edge-agent', mount, procSelfCgroup: self });
    if (!setup.ok) throw new Error(setup.reason);
    expect(setup.driver.description).toMatch(new RegExp(`^cgroup v2 ${unit}/edge-sync/[0-9a-f]{16}$`));
    const bare = fakeMount('cpuset io');
    const refused = detectCgroups({ dataDir: '/d', mount: bare.mount, procSelfCgroup: bare.self });
    expect(refused).toEqual({ ok: false, reason: `${bare.unit}: controllers cpu, memory, pids not delegated (cgroup.controllers: "cpuset io"); systemd needs Delegate=yes` });
  });

  it('refuses cgroup names that are not plain names', () => {
    for (const bad of ['..', 'a/../b', 'memory.max', 'cgroup.procs', '-x', 'a b']) expect(() => checkRel(bad), bad).toThrow(/cannot be a cgroup name/);
    expect(checkRel('pod0c1d-2e/app.v2')).toEqual(['pod0c1d-2e', 'app.v2']);
  });
});
