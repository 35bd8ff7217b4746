/** exec and attach on the agent's kubelet API over the WebSocket channel protocols, into real process-runtime containers. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from '../../helpers/system-tools.js';
import { makePod, sh } from '../runtime/helpers.js';
import { KubeletHarness, channelExec, get, waitText } from './helpers.js';

// exec -t in the process runtime needs script (its pseudo-terminal); exec into a bwrap sandbox needs nsenter.
requireTool('script');
requireTool('nsenter');
requireTool('bwrap');

const harnesses: KubeletHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.stop();
});

async function harness(overrides: ConstructorParameters<typeof KubeletHarness>[0] = {}): Promise<KubeletHarness> {
  const created = new KubeletHarness(overrides);
  harnesses.push(created);
  return created.start();
}

function execUrl(h: KubeletHarness, command: string[], flags: string, pod = 'web', container = 'main'): string {
  return `${h.url}/exec/default/${pod}/${container}?${command.map((c) => `command=${encodeURIComponent(c)}`).join('&')}&${flags}`;
}

const WEB = () => makePod({ name: 'web', containers: [{ ...sh('main', 'exec sleep 60'), env: [{ name: 'GREETING', value: 'hello-from-env' }] }] });

describe('exec over WebSocket', () => {
  it('v5: stdin in, stdout and stderr out, the close channel ends stdin, exit code in the Status', async () => {
    const h = await harness();
    await h.run(WEB(), 'main');
    const result = await channelExec(execUrl(h, ['sh', '-c', 'tr a-z A-Z; echo "$GREETING" >&2; exit 3'], 'input=1&output=1&error=1'), 'v5.channel.k8s.io', 'shout this\n');
    expect(result.protocol).toBe('v5.channel.k8s.io');
    expect(result.stdout).toBe('SHOUT THIS\n');
    // The container's environment, not the agent's.
    expect(result.stderr).toBe('hello-from-env\n');
    expect(result.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  });

  it('v4: output and Success; stdin, stdout, stderr spelled as kubectl\'s API does', async () => {
    const h = await harness();
    await h.run(WEB(), 'main');
    const result = await channelExec(execUrl(h, ['head', '-n', '1'], 'stdin=true&stdout=true'), 'v4.channel.k8s.io', 'first\nsecond\n');
    expect(result.protocol).toBe('v4.channel.k8s.io');
    expect(result.stdout).toBe('first\n');
    expect(result.status).toEqual({ metadata: {}, status: 'Success' });
  });

  it('runs in the container\'s working directory; a missing command is an error Status', async () => {
    const h = await harness();
    await h.run(WEB(), 'main');
    const pwd = await channelExec(execUrl(h, ['pwd'], 'output=1'), 'v5.channel.k8s.io');
    expect(pwd.stdout.trim()).toMatch(/\/containers\/main\/root$/);
    const missing = await channelExec(execUrl(h, ['no-such-command-here'], 'output=1'), 'v5.channel.k8s.io');
    expect(missing.status).toMatchObject({ status: 'Failure' });
    expect(JSON.stringify(missing.status)).toContain('no-such-command-here');
  });

  it('with a TTY (script as the pseudo-terminal) the command sees a terminal of the size sent on the resize channel', async () => {
    const h = await harness();
    await h.run(WEB(), 'main');
    const resize = Buffer.from(JSON.stringify({ Width: 123, Height: 45 }));
    // stty size waits for the resize to land: it reads the size after a short loop until it is not the default.
    const result = await channelExec(
      execUrl(h, ['sh', '-c', 'test -t 0 && echo tty; for i in $(seq 1 100); do s=$(stty size); [ "$s" = "45 123" ] && break; sleep 0.05; done; echo "size $s"'], 'output=1&tty=1&input=1'),
      'v5.channel.k8s.io',
      undefined,
      [[4, resize]],
    );
    expect(result.stdout).toContain('tty');
    expect(result.stdout).toContain('size 45 123');
    expect(result.status).toEqual({ metadata: {}, status: 'Success' });
  });

  it('runs inside the container\'s bubblewrap sandbox: its hostname and its own view of /proc', async () => {
    const h = await harness({ useBwrap: 'always' });
    await h.run(WEB(), 'main');
    const result = await channelExec(execUrl(h, ['sh', '-c', 'hostname; ls /proc | grep -c "^[0-9]"'], 'output=1&error=1'), 'v5.channel.k8s.io');
    expect(result.stderr).toBe('');
    const [hostname, processes] = result.stdout.trim().split('\n');
    expect(hostname).toBe('web');
    // The sandbox's PID namespace: a handful of processes, not the host's.
    expect(Number(processes)).toBeLessThan(10);
  });
});

describe('attach over WebSocket', () => {
  it('streams what the container writes from now on', async () => {
    const h = await harness();
    const trigger = path.join(h.runtime.dataDir, 'go');
    await h.run(makePod({ name: 'a', restartPolicy: 'Never', containers: [sh('main', `echo before; while [ ! -f ${trigger} ]; do sleep 0.05; done; echo after; sleep 0.2; exit 0`)] }), 'main');
    await waitText(async () => (await get(`${h.url}/containerLogs/default/a/main`)).body, 'before');
    // "after" is written once the attach is open; the server streams from the end of the log, so "before" is not sent.
    const result = await channelExec(`${h.url}/attach/default/a/main?output=1`, 'v5.channel.k8s.io', undefined, [], () => writeFileSync(trigger, ''));
    expect(result.stdout).toBe('after\n');
    expect(result.status).toEqual({ metadata: {}, status: 'Success' });
  });

  it('refuses stdin: the process runtime starts containers without one', async () => {
    const h = await harness();
    await h.run(WEB(), 'main');
    await expect(channelExec(`${h.url}/attach/default/web/main?input=1&output=1`, 'v5.channel.k8s.io')).rejects.toThrow(/400: .*runs without stdin/);
  });
});
