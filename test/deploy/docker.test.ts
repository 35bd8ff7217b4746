/**
 * deploy/docker/Dockerfile, read: what it copies exists and is not excluded, it compiles every
 * folder the build config includes and bundles the agent, the entry points exist in the build
 * output, production installs omit dev dependencies, the images run as a non-root user, and both
 * bases are build arguments. (test/images/ builds and runs both images: npm run test:images.)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/process.js';

const text = readFileSync(path.join(REPO, 'deploy/docker/Dockerfile'), 'utf8');
// Instructions, with backslash continuations joined and comments dropped.
const instructions = text
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((line) => line.trim() && !line.trimStart().startsWith('#'));
const ignored = readFileSync(path.join(REPO, 'deploy/docker/Dockerfile.dockerignore'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.startsWith('#'));

interface Stage {
  from: string;
  name: string;
  lines: string[];
}
const stages: Stage[] = [];
for (const line of instructions) {
  const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
  if (from) stages.push({ from: from[1]!, name: from[2] ?? '', lines: [] });
  else stages.at(-1)?.lines.push(line);
}
const stage = (name: string) => stages.find((s) => s.name === name)!;

describe('deploy/docker/Dockerfile', () => {
  it('copies only files that exist in the build context and are not ignored', () => {
    const sources = instructions.filter((line) => /^COPY\s/.test(line) && !line.includes('--from=')).flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources).toContain('deploy/edge/install.sh'); // the bundle carries it
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(path.join(REPO, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });

  it('compiles every folder tsconfig.build.json includes', () => {
    const include = (JSON.parse(readFileSync(path.join(REPO, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include;
    const copied = stage('build').lines.filter((line) => line.startsWith('COPY ')).map((line) => line.split(/\s+/)[1]);
    // A file pattern inside a copied folder (cloud-hub/apiserver/schema/*.json) is copied with it.
    const uncovered = include.filter((entry) => !copied.some((source) => entry === source || entry.startsWith(`${source}/`)));
    expect(uncovered).toEqual([]);
  });

  it('builds two images, cloud-hub and edge-agent, each running its bundle as a non-root user', () => {
    for (const [target, main] of [
      ['cloud-hub', 'cloud-hub.js'],
      ['edge-agent', 'edge-agent.js'],
    ] as const) {
      const lines = stage(target).lines;
      expect(stage(target).from).toBe('runtime');
      expect(lines).toContain(`ENTRYPOINT ["node", "${main}"]`);
      const user = lines.find((line) => line.startsWith('USER '))!;
      expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
    }
    expect(stage('build').lines.join('\n')).toMatch(/node dist\/scripts\/agent-bundle\/build\.js/);
    expect(stage('build').lines.join('\n')).toMatch(/node dist\/scripts\/hub-bundle\/build\.js/);
    expect(stage('cloud-hub').lines).toContain('COPY --from=build /src/dist-hub/package.json /src/dist-hub/cloud-hub.js ./');
    expect(stage('cloud-hub').lines).toContain('COPY --from=build /src/dist-hub/lib lib');
    expect(stage('cloud-hub').lines).toContain('COPY --from=native-deps /app/node_modules node_modules');
    expect(stage('edge-agent').lines).toContain('COPY --from=build /src/dist-agent/package.json /src/dist-agent/edge-agent.js ./');
    expect(stage('edge-agent').lines).toContain('COPY --from=build /src/dist-agent/lib lib');
    expect(stage('edge-agent').lines).toContain('COPY --from=native-deps /app/node_modules node_modules');
    expect(stage('runtime').lines.join('\n')).toMatch(/edge:x:10001:10001:/);
  });

  it('takes both bases as build arguments, defaulting to the official Node.js images', () => {
    expect(instructions).toContain('ARG BASE=node:20-bookworm-slim');
    expect(instructions).toContain('ARG BUILD_BASE=node:20-bookworm');
    expect(stage('runtime').from).toBe('${BASE}');
    for (const name of ['build', 'native-deps']) expect(stage(name).from, name).toBe('${BUILD_BASE}');
  });

  it('installs the bundles\' one dependency for the target platform, and compiles on the build platform', () => {
    expect(instructions.find((line) => line.includes(' AS build'))).toMatch(/--platform=\$BUILDPLATFORM/);
    expect(instructions.find((line) => line.includes(' AS native-deps'))).not.toMatch(/--platform/);
    expect(stage('native-deps').lines.join('\n')).toMatch(/npm install --omit=dev/);
    // One install serves both images: it reads the hub bundle's manifest, so the agent's must name the same.
    expect(stage('native-deps').lines).toContain('COPY --from=build /src/dist-hub/package.json ./');
  });
});
