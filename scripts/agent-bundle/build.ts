/**
 * `npm run build:agent`: the edge agent as an installable package of its own, dist-agent/:
 *
 *   edge-agent.js   edge-agent/main.ts and every pure-JavaScript module it reaches at start
 *                   (protocol/, commander, pino, ws, yaml, zod/mini, ...) as minified ES modules,
 *                   bundled by esbuild from the TypeScript sources
 *   lib/            the chunks it imports: those it loads at start, and those loaded only on
 *                   first use (`await import(...)`: MQTT.js, prom-client, grpc-js, the local and
 *                   kubelet APIs), which Node.js never reads until then
 *   package.json    name edge-sync-agent, bin edge-agent, dependencies: better-sqlite3 alone
 *                   (native: npm fetches or compiles it for the device's architecture)
 *   install.sh      deploy/edge/install.sh, which installs this package (`npm pack dist-agent`)
 *   meta.json       esbuild's metafile: every input and its size in the bundle, what stayed external
 *
 * Nothing of the hub can come along: the agent never imports @kubernetes/client-node (the
 * layering rules), and the check below fails the build if a hub-only package shows up among the
 * inputs. Lazy imports (`await import('mqtt')`) become chunks of their own (esbuild's code
 * splitting): one script holding everything made V8 parse all of it at start, 1.9 MB, and the
 * agent's RSS idle with 1,000 objects was 85.6 MB against 71.3 MB split (npm run bench, agent-rss).
 *
 * zod comes in as zod/mini alone (protocol/zod.ts), never its classic API: FORBIDDEN_INPUTS below
 * fails the build if node_modules/zod/v4/classic/ shows up among the inputs, naming the file of
 * ours that imports it. Classic was 26 KB of the minified start-up code (zod 193 -> 166 KB, read
 * at start 743 -> 718 KiB) and about 1 MB of RSS by hand (a bare node importing the zod chunk:
 * 47.9-48.0 against 46.6-47.0 MB); in the bench (agent-rss, two runs each) idle as installed went
 * 70.4, 70.3 -> 67.8, 72.6 MB (within its noise) and with --no-opt 63.2, 62.1 -> 60.6, 60.7 MB.
 */
import { build, type Metafile } from 'esbuild';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledPackages, bundleOptions, checkExternals, emptyDir, javaScriptBytes, lazyChunks as lazyChunksOf, packageOf, readRootPackage, REPO_ROOT, type BuiltBundle } from '../bundle/esbuild-parts.js';

/** Packages the agent must never carry (hub-only). */
export const FORBIDDEN_IN_AGENT = ['@kubernetes/client-node', 'aedes', '@peculiar/x509'] as const;

/**
 * Files the agent must never carry, by the start of their path among the bundle's inputs, and
 * why. zod's classic API (`import { z } from 'zod'`, node_modules/zod/v4/classic/): every schema
 * the agent reaches uses zod/mini through protocol/zod.ts, and one import of 'zod' anywhere the
 * agent reaches would bring all of classic back unnoticed.
 */
export const FORBIDDEN_INPUTS = [
  { prefix: 'node_modules/zod/v4/classic/', why: "zod's classic API costs the agent memory at start (README.md, Edge agent memory); import z from protocol/zod.ts (zod/mini), not from 'zod'" },
] as const;

/**
 * Not bundled: better-sqlite3 is native (a .node addon per architecture), installed by npm next
 * to the bundle.
 */
export const NATIVE_EXTERNALS = ['better-sqlite3'] as const;

/**
 * npm packages the agent may `await import()` directly. Split into a chunk of its own, a CommonJS
 * package exposes only `default` there (its named exports are lost, unlike under Node.js's loader),
 * so these are used only as `(await import('mqtt')).default`; anything else loaded on demand goes
 * through a module of ours that imports it statically (e.g. runtime/cri/grpc-modules.ts).
 */
export const LAZY_DEFAULT_ONLY = ['mqtt'] as const;

export type AgentBundle = BuiltBundle;

/** Our source files (outside node_modules) that import `files`, directly or through packages: where a forbidden file comes in. */
function sourcesImporting(meta: Metafile, files: readonly string[]): string[] {
  const importers = new Map<string, string[]>();
  for (const [input, { imports }] of Object.entries(meta.inputs)) {
    for (const imported of imports) importers.set(imported.path, [...(importers.get(imported.path) ?? []), input]);
  }
  const seen = new Set(files);
  const sources = new Set<string>();
  const queue = [...files];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const importer of importers.get(file) ?? []) {
      if (seen.has(importer)) continue;
      seen.add(importer);
      if (packageOf(importer) === undefined) sources.add(importer);
      else queue.push(importer);
    }
  }
  return [...sources].sort();
}

export async function buildAgentBundle(outDir = path.join(REPO_ROOT, 'dist-agent')): Promise<AgentBundle> {
  const rootPackage = readRootPackage();
  emptyDir(outDir);
  const entry = path.join(outDir, 'edge-agent.js');
  const result = await build(bundleOptions('edge-agent', 'edge-agent/main.ts', outDir, NATIVE_EXTERNALS));
  const packages = bundledPackages(result.metafile);
  const forbidden = packages.filter((name) => (FORBIDDEN_IN_AGENT as readonly string[]).includes(name));
  if (forbidden.length > 0) throw new Error(`the agent bundle would contain hub-only packages: ${forbidden.join(', ')}`);
  for (const { prefix, why } of FORBIDDEN_INPUTS) {
    const found = Object.keys(result.metafile.inputs).filter((input) => input.startsWith(prefix));
    if (found.length > 0) throw new Error(`the agent bundle would contain ${prefix} (${found.length} files, imported by ${sourcesImporting(result.metafile, found).join(', ')}): ${why}`);
  }
  const externals = checkExternals(result.metafile, NATIVE_EXTERNALS, 'the agent bundle');
  const lazyChunks = lazyChunksOf(result.metafile, 'edge-agent/main.ts', LAZY_DEFAULT_ONLY, 'the agent');
  chmodSync(entry, 0o755);

  const dependencies = Object.fromEntries(NATIVE_EXTERNALS.map((name) => [name, rootPackage.dependencies[name]!]));
  const manifest = {
    name: 'edge-sync-agent',
    version: rootPackage.version,
    description: 'The edge-sync edge agent: one bundled script and better-sqlite3',
    type: 'module',
    license: rootPackage.license,
    engines: rootPackage.engines,
    bin: { 'edge-agent': 'edge-agent.js' },
    files: ['edge-agent.js', '*.LEGAL.txt', 'lib', 'install.sh', 'README.md'],
    dependencies,
    allowScripts: { 'better-sqlite3': true },
  };
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(path.join(REPO_ROOT, 'deploy/edge/install.sh'), path.join(outDir, 'install.sh'));
  chmodSync(path.join(outDir, 'install.sh'), 0o755);
  writeFileSync(
    path.join(outDir, 'README.md'),
    `# edge-sync-agent ${rootPackage.version}\n\nThe edge-sync edge agent, bundled: \`edge-agent.js\` plus better-sqlite3. Install on a device with\n\`sudo bash install.sh --tarball edge-sync-agent-${rootPackage.version}.tgz --hub URL --node NAME --token-file FILE\`\n(see deploy/README.md in edge-sync).\n`,
  );
  writeFileSync(path.join(outDir, 'meta.json'), JSON.stringify(result.metafile));
  return { dir: outDir, entry, ...javaScriptBytes(result.metafile, entry), lazyChunks, packages, externals };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
  buildAgentBundle(outDir).then(
    (bundle) => {
      process.stdout.write(`build:agent: ${path.relative(process.cwd(), bundle.entry)} and lib/: ${(bundle.bytes / 1024).toFixed(0)} KiB, ${(bundle.startBytes / 1024).toFixed(0)} KiB read at start, ${bundle.packages.length} packages bundled (${bundle.packages.join(', ')}), external: ${bundle.externals.join(', ')}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`build:agent: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
