/** `npm start`'s demo: everything comes up, the examples reach the right nodes, Ctrl-C stops it all. */
import { afterAll, expect, it } from 'vitest';
import path from 'node:path';
import { DIST, startProcess, type RunningProcess } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const dir = makeTempDir('edge-demo-');
let demo: RunningProcess | undefined;
afterAll(async () => {
  await demo?.kill();
  dir.remove();
});

it('runs the API, a hub and three agents, shows the examples on their nodes, and stops cleanly on SIGINT', async () => {
  demo = await startProcess(path.join(DIST, 'sim/demo/main.js'), ['--dir', path.join(dir.path, 'demo'), '--refresh-ms', '200'], {
    ready: null,
  });
  const row = (node: string, pods: string) => new RegExp(`^\\| ${node}\\s+\\| connected\\s+\\| \\d+\\s+\\| ${pods}\\s+\\|`);
  const sawRows = (): boolean => {
    const lines = demo!.stdoutText;
    return (
      lines.some((l) => row('edge-1', 'demo/hello-edge-1 \\(Running\\)').test(l)) &&
      lines.some((l) => row('edge-2', 'demo/hello-edge-2 \\(Running\\)').test(l)) &&
      lines.some((l) => row('edge-3', '-').test(l))
    );
  };
  await waitFor(() => sawRows() || !demo!.running, { timeoutMs: 60_000, what: 'the fleet table' });
  expect(demo.running, demo.tail(40)).toBe(true);
  expect(demo.stdoutText.join('\n')).toContain('applied      Namespace/demo, ConfigMap/demo/greeting');
  demo.child.kill('SIGINT');
  const exit = await demo.exited;
  expect(exit.code).toBe(0);
  expect(demo.stdoutText).toContain('all stopped.');
}, 90_000);
