/**
 * `npm run build:hub`: the cloud hub as a package of its own, dist-hub/ (what the cloud-hub image
 * runs):
 *
 *   cloud-hub.js    cloud-hub/main.ts and every pure-JavaScript module it reaches at start
 *                   (@kubernetes/client-node, commander, pino, ws, zod, ...) as minified ES
 *                   modules, bundled by esbuild from the TypeScript sources
 *   lib/            the chunks it imports: those it loads at start, and those loaded only on first
 *                   use (`await import(...)`: the embedded API server, the PKI with @peculiar/x509,
 *                   the in-process MQTT broker), and the OpenAPI document the API server reads
 *   package.json    name edge-sync-hub, bin cloud-hub, dependencies: better-sqlite3 alone
 *   meta.json       esbuild's metafile
 *
 * Why: Node.js resolving, reading and compiling @kubernetes/client-node's ~1,000 module files
 * took most of the hub's start. `cloud-hub --help` took 3.8–4.9 s and 130–146 MB from dist/
 * against 0.8–1.7 s and 72 MB bundled (one machine, same load); the restart numbers are in
 * `npm run bench` (fleet, hub-rss), which run this bundle.
 */
import { build, type Plugin } from 'esbuild';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledPackages, bundleOptions, checkExternals, emptyDir, javaScriptBytes, lazyChunks as lazyChunksOf, outputHolding, readRootPackage, REPO_ROOT, type BuiltBundle } from '../bundle/esbuild-parts.js';

/** Not bundled: better-sqlite3 is native, installed by npm next to the bundle. */
export const HUB_NATIVE_EXTERNALS = ['better-sqlite3'] as const;

/**
 * node-fetch (under @kubernetes/client-node) requires `encoding` inside try/catch, for a method
 * client-node never calls; it is not installed, and esbuild leaves it to run time.
 */
const HUB_OPTIONAL_ABSENT = ['encoding'] as const;

/** The data file the API server's schema store reads next to its own module (schema-store.ts). */
const OPENAPI_SOURCE = 'cloud-hub/apiserver/schema/schema-store.ts';
const OPENAPI_FILE = 'cloud-hub/apiserver/schema/kube-openapi.json';

/**
 * The schema store finds kube-openapi.json next to its module (`new URL('./kube-openapi.json',
 * import.meta.url)`); in the bundle its module is whichever chunk esbuild put it in. This check
 * keeps that expression literal, so the build can copy the file next to that chunk.
 */
const OPENAPI_NEXT_TO_MODULE: Plugin = {
  name: 'openapi-next-to-module',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]cloud-hub[\\/]apiserver[\\/]schema[\\/]schema-store\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes("new URL('./kube-openapi.json', import.meta.url)")) throw new Error(`${OPENAPI_SOURCE} no longer finds kube-openapi.json next to itself; update scripts/hub-bundle/build.ts`);
      return undefined;
    });
  },
};

export type HubBundle = BuiltBundle;

export async function buildHubBundle(outDir = path.join(REPO_ROOT, 'dist-hub')): Promise<HubBundle> {
  const rootPackage = readRootPackage();
  emptyDir(outDir);
  const entry = path.join(outDir, 'cloud-hub.js');
  const result = await build(bundleOptions('cloud-hub', 'cloud-hub/main.ts', outDir, HUB_NATIVE_EXTERNALS, [OPENAPI_NEXT_TO_MODULE]));
  const externals = checkExternals(result.metafile, [...HUB_NATIVE_EXTERNALS, ...HUB_OPTIONAL_ABSENT], 'the hub bundle');
  const lazyChunks = lazyChunksOf(result.metafile, 'cloud-hub/main.ts', [], 'the hub');
  const holder = outputHolding(result.metafile, OPENAPI_SOURCE);
  if (!holder) throw new Error(`${OPENAPI_SOURCE} is not in the hub bundle`);
  copyFileSync(path.join(REPO_ROOT, OPENAPI_FILE), path.join(path.dirname(holder), 'kube-openapi.json'));
  chmodSync(entry, 0o755);

  const manifest = {
    name: 'edge-sync-hub',
    version: rootPackage.version,
    description: 'The edge-sync cloud hub: one bundled script and better-sqlite3',
    type: 'module',
    license: rootPackage.license,
    engines: rootPackage.engines,
    bin: { 'cloud-hub': 'cloud-hub.js' },
    files: ['cloud-hub.js', '*.LEGAL.txt', 'lib'],
    dependencies: Object.fromEntries(HUB_NATIVE_EXTERNALS.map((name) => [name, rootPackage.dependencies[name]!])),
    allowScripts: { 'better-sqlite3': true },
  };
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'meta.json'), JSON.stringify(result.metafile));
  return { dir: outDir, entry, ...javaScriptBytes(result.metafile, entry), lazyChunks, packages: bundledPackages(result.metafile), externals };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
  buildHubBundle(outDir).then(
    (bundle) => {
      process.stdout.write(`build:hub: ${path.relative(process.cwd(), bundle.entry)} and lib/: ${(bundle.bytes / 1024).toFixed(0)} KiB, ${(bundle.startBytes / 1024).toFixed(0)} KiB read at start, ${bundle.packages.length} packages bundled, external: ${bundle.externals.join(', ')}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`build:hub: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
