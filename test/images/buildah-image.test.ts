/**
 * Images built from a Dockerfile without a Docker engine or a registry: buildah (vfs) builds
 * FROM the locally assembled Node.js base (scripts/images/base-node.sh) through
 * scripts/images/buildah-build.sh, and containerd runs the result on the host network, as the
 * image's non-root user, with a read-only root filesystem. Prints how long each step took.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Containerd } from '../helpers/containerd.js';
import { buildahBuild, buildNodeBaseImage, type TestImage } from '../helpers/test-images.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = makeTempDir('edge-buildah-');
const timings: Record<string, number> = {};
let base: TestImage;
let containerd: Containerd;

beforeAll(async () => {
  let started = performance.now();
  base = await buildNodeBaseImage();
  timings['node base image (cached after the first build)'] = performance.now() - started;
  started = performance.now();
  containerd = await Containerd.start();
  timings['containerd start'] = performance.now() - started;
}, 600_000);

afterAll(async () => {
  await containerd?.stop();
  dir.remove();
  const lines = Object.entries(timings).map(([what, ms]) => `  ${what}: ${Math.round(ms)} ms`);
  console.log(`buildah image timings:\n${lines.join('\n')}`);
}, 60_000);

it('builds a Dockerfile FROM the local Node.js base with buildah; containerd runs it on the host network, non-root, read-only', async () => {
  const context = path.join(dir.path, 'context');
  mkdirSync(context);
  writeFileSync(
    path.join(context, 'Dockerfile'),
    [
      // The base as a build argument, defaulting to the official image, as deploy/docker/Dockerfile.
      'ARG NODE_IMAGE=node:20-bookworm-slim',
      'FROM ${NODE_IMAGE}',
      'WORKDIR /app',
      'COPY app.js ./',
      `RUN node -e "require('fs').writeFileSync('/app/built-with', process.version)" \\`,
      " && echo 'edge:x:10001:10001::/nonexistent:/usr/sbin/nologin' >> /etc/passwd \\",
      " && echo 'edge:x:10001:' >> /etc/group",
      'USER 10001:10001',
      'ENTRYPOINT ["node", "/app/app.js"]',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(context, 'app.js'),
    `const fs = require('fs');
let writable = 'yes';
try { fs.writeFileSync('/app/written', 'x'); } catch (err) { writable = err.code; }
fetch('http://127.0.0.1:' + process.argv[2] + '/').then(async (response) => {
  console.log(JSON.stringify({ builtWith: fs.readFileSync('/app/built-with', 'utf8'), uid: process.getuid(), writable, status: response.status, body: await response.text() }));
});
`,
  );

  let started = performance.now();
  const image = await buildahBuild(path.join(dir.path, 'app.tar'), 'localhost/edge-test/buildah-app:1', [
    '--build-arg',
    `NODE_IMAGE=oci-archive:${base.archive}`,
    context,
  ]);
  timings['buildah bud + push to an OCI archive'] = performance.now() - started;
  started = performance.now();
  await containerd.importImage(image);
  timings['ctr images import'] = performance.now() - started;

  const server = http.createServer((_, response) => response.end('from the host'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    started = performance.now();
    const result = await containerd.runContainer(image.reference, `edge-buildah-${process.pid}`, ['node', '/app/app.js', String((server.address() as AddressInfo).port)], { readOnly: true });
    timings['ctr run --rm --read-only (node app, one fetch)'] = performance.now() - started;
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ builtWith: 'v20.19.6', uid: 10001, writable: 'EROFS', status: 200, body: 'from the host' });
    expect(result.code).toBe(0);
  } finally {
    server.close();
  }
}, 600_000);
