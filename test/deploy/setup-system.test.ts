/**
 * `npm run setup:system` (scripts/setup-system.sh), the real script, with the Debian package
 * manager replaced by recording fakes on PATH (the tests must not install anything on the
 * machine they run on): what it installs, that a second run installs nothing, what it says when
 * kubectl is not in the apt sources; and requireTool's failure message.
 */
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, run } from '../helpers/process.js';
import { KUBECTL_MIN_MINOR, TOOL_PACKAGES, missingToolMessage, requireTool } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmp.js';

const SCRIPT = path.join(REPO, 'scripts/setup-system.sh');
const dir = makeTempDir('edge-setup-system-');
afterAll(() => dir.remove());

/** The PACKAGES array of the script, in order. */
function scriptPackages(): string[] {
  const body = /^PACKAGES=\(\n([\s\S]*?)^\)/m.exec(readFileSync(SCRIPT, 'utf8'))?.[1] ?? '';
  return body
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

let machines = 0;

/** A fake machine: which packages dpkg knows as installed, what apt can install, which kubectl is on PATH. */
function machine(options: { installed: string[]; kubectlCandidate?: boolean; kubectlOnPath?: string }) {
  const root = path.join(dir.path, `machine-${machines++}`);
  const bin = path.join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const state = path.join(root, 'installed');
  const log = path.join(root, 'apt.log');
  writeFileSync(state, options.installed.map((name) => `${name}\n`).join(''));
  writeFileSync(log, '');
  const script = (name: string, text: string): void => {
    writeFileSync(path.join(bin, name), `#!/bin/bash\n${text}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  // dpkg-query -W -f='${db:Status-Status}' PKG
  script('dpkg-query', `pkg="\${!#}"; if grep -qx "$pkg" ${state}; then printf installed; else echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; fi`);
  script('apt-get', `echo "apt-get $*" >> ${log}; if [ "$1" = install ]; then for a in "$@"; do case "$a" in -*|install) ;; *) echo "$a" >> ${state} ;; esac; done; fi`);
  script('apt-cache', options.kubectlCandidate ? 'printf "kubectl:\\n  Installed: (none)\\n  Candidate: 1.32.4-1.1\\n"' : 'echo "N: Unable to locate package $2" >&2');
  script('sudo', 'exec "$@"');
  if (options.kubectlOnPath) {
    script('kubectl', `echo '{"clientVersion":{"major":"1","minor":"${options.kubectlOnPath}","gitVersion":"v1.${options.kubectlOnPath}.0"}}'`);
  }
  // Only these and the fakes: the machine's own kubectl, apt and dpkg must not be found.
  for (const tool of ['sed', 'head', 'id', 'env', 'cat', 'grep']) symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool));
  return {
    run: (...args: string[]) => run('/bin/bash', [SCRIPT, ...args], { env: { PATH: bin } }),
    aptCalls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

describe('npm run setup:system', () => {
  it('names every package a test asks for with requireTool, and is shellcheck clean', async () => {
    const packages = scriptPackages();
    expect(packages).toContain('kubectl');
    for (const [tool, pkg] of Object.entries(TOOL_PACKAGES)) expect(packages, `${tool} (${pkg})`).toContain(pkg);
    const lint = await run(requireTool('shellcheck'), ['--severity=style', SCRIPT]);
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.code).toBe(0);
  });

  it('changes nothing and needs no network when everything is installed', async () => {
    const m = machine({ installed: scriptPackages() });
    const result = await m.run();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`all ${scriptPackages().length} packages are installed`);
    expect(m.aptCalls()).toEqual([]);
  });

  it('installs exactly what is missing, and a second run installs nothing', async () => {
    const m = machine({ installed: scriptPackages().filter((name) => name !== 'mosquitto' && name !== 'bubblewrap') });
    const first = await m.run();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('installing: mosquitto bubblewrap');
    expect(m.aptCalls()).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends mosquitto bubblewrap']);
    const second = await m.run();
    expect(second.code).toBe(0);
    expect(m.aptCalls()).toHaveLength(2);
  });

  it('--check reports what is missing and installs nothing', async () => {
    const m = machine({ installed: scriptPackages().filter((name) => name !== 'shellcheck') });
    const result = await m.run('--check');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('missing: shellcheck (run: npm run setup:system)');
    expect(m.aptCalls()).toEqual([]);
  });

  it('installs kubectl from apt when the sources have it', async () => {
    const m = machine({ installed: scriptPackages().filter((name) => name !== 'kubectl'), kubectlCandidate: true });
    const result = await m.run();
    expect(result.code, result.stderr).toBe(0);
    expect(m.aptCalls()).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends kubectl']);
  });

  it('without kubectl in the apt sources: installs the rest, then fails saying how to add the Kubernetes repository', async () => {
    const m = machine({ installed: scriptPackages().filter((name) => name !== 'kubectl' && name !== 'file') });
    const result = await m.run();
    expect(result.code).toBe(1);
    expect(m.aptCalls()).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends file']);
    expect(result.stderr).toContain('the package kubectl is not in this machine\'s apt sources');
    expect(result.stderr).toContain("Debian's own kubernetes-client is kubectl 1.20, too old");
    expect(result.stderr).toContain('https://pkgs.k8s.io/core:/stable:/v1.32/deb/');
    expect(result.stderr).toContain('then run `npm run setup:system` again');
  });

  it('accepts a recent kubectl installed another way, not an old one', async () => {
    const recent = machine({ installed: scriptPackages().filter((name) => name !== 'kubectl'), kubectlOnPath: String(KUBECTL_MIN_MINOR + 1) });
    expect((await recent.run()).code).toBe(0);
    expect(recent.aptCalls()).toEqual([]);

    const old = machine({ installed: scriptPackages().filter((name) => name !== 'kubectl'), kubectlOnPath: '20' });
    const result = await old.run();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the kubectl on PATH is 1.20');
  });
});

describe('requireTool', () => {
  it('fails with the command that installs a missing tool', () => {
    expect(() => requireTool('edge-sync-no-such-tool', 'edge-sync-pkg')).toThrow(
      'edge-sync-no-such-tool is not installed: run `npm run setup:system` (or: apt-get install -y edge-sync-pkg)',
    );
    expect(missingToolMessage('bwrap', 'bubblewrap')).toBe('bwrap is not installed: run `npm run setup:system` (or: apt-get install -y bubblewrap)');
  });

  it('finds daemons in the sbin directories and rejects a kubectl older than the tests need', () => {
    const bin = path.join(dir.path, 'old-kubectl');
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'kubectl'), '#!/bin/sh\necho \'{"clientVersion":{"major":"1","minor":"20","gitVersion":"v1.20.2"}}\'\n', { mode: 0o755 });
    expect(() => requireTool(path.join(bin, 'kubectl'))).toThrow(
      `is v1.20.2, older than the 1.${KUBECTL_MIN_MINOR} the tests need (Debian's kubernetes-client is too old): run \`npm run setup:system\` (or: apt-get install -y kubectl)`,
    );
    expect(requireTool('kubectl')).toMatch(/\/kubectl$/);

    // A non-root PATH on Debian has no /usr/sbin, where mosquitto lives.
    const saved = process.env.PATH;
    process.env.PATH = '/usr/bin:/bin';
    try {
      expect(requireTool('mosquitto')).toMatch(/^\/(usr\/)?(local\/)?sbin\/mosquitto$/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
