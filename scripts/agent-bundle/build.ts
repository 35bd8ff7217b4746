/**
 * `npm run build:agent`: the edge agent as an installable package of its own, dist-agent/:
 *
 *   edge-agent.js   edge-agent/main.ts and every pure-JavaScript module it reaches at start
 *                   (protocol/, commander, pino, ws, yaml, zod, ...) as minified ES modules,
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
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { isBuiltin } from 'node:module';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Packages the agent must never carry (hub-only). */
export const FORBIDDEN_IN_AGENT = ['@kubernetes/client-node', 'aedes', '@peculiar/x509'] as const;

/**
 * Not bundled: better-sqlite3 is native (a .node addon per architecture), installed by npm next
 * to the bundle. The others are optional packages required inside try/catch that are not
 * installed in the dev tree either (ws's native accelerators, debug's supports-color): their
 * users fall back to plain JavaScript.
 */
export const NATIVE_EXTERNALS = ['better-sqlite3'] as const;
const OPTIONAL_ABSENT = ['bufferutil', 'utf-8-validate', 'supports-color'] as const;

/**
 * npm packages the agent may `await import()` directly. Split into a chunk of its own, a CommonJS
 * package exposes only `default` there (its named exports are lost, unlike under Node.js's loader),
 * so these are used only as `(await import('mqtt')).default`; anything else loaded on demand goes
 * through a module of ours that imports it statically (e.g. runtime/cri/grpc-modules.ts).
 */
export const LAZY_DEFAULT_ONLY = ['mqtt'] as const;

/**
 * zod's messages in English only. zod re-exports every locale it has (`z.locales`, 260 KB of the
 * bundle) and configures English on import; the agent uses no other. This stub in place of
 * zod/v4/locales/index.js keeps `en` (so every message is unchanged) and drops the rest, which
 * V8 otherwise parses at start (0.26 MB less read at start; RSS within the bench's noise).
 */
const ZOD_ENGLISH_ONLY: Plugin = {
  name: 'zod-english-only',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ contents: 'export { default as en } from "./en.js";', loader: 'js', resolveDir: path.join(REPO_ROOT, 'node_modules/zod/v4/locales') }));
  },
};

export interface AgentBundle {
  dir: string;
  entry: string;
  /** Bytes of JavaScript: edge-agent.js and every chunk in lib/. */
  bytes: number;
  /** Bytes of the JavaScript read at start: edge-agent.js and the chunks it imports statically. */
  startBytes: number;
  /** The chunks loaded on first use (`await import(...)`), by the source file they start from. */
  lazyChunks: Record<string, string>;
  /** The npm packages bundled (from node_modules), by name. */
  packages: string[];
  /** Imports left to run time that are not Node.js built-ins. */
  externals: string[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, from scripts/agent-bundle/ or dist/scripts/agent-bundle/. */
export const REPO_ROOT = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

/** The package an input path of the metafile belongs to (node_modules/@scope/name/... -> @scope/name). */
export function packageOf(input: string): string | undefined {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

function bundledPackages(meta: Metafile): string[] {
  return [...new Set(Object.keys(meta.inputs).map(packageOf).filter((name): name is string => !!name))].sort();
}

function externalImports(meta: Metafile): string[] {
  const found = new Set<string>();
  for (const input of Object.values(meta.inputs)) {
    for (const imported of input.imports) {
      if (imported.external && !isBuiltin(imported.path) && imported.path !== '<runtime>') found.add(imported.path);
    }
  }
  return [...found].sort();
}

/** Bytes of every output script, and of those read at start (the entry and its static imports). */
function javaScriptBytes(meta: Metafile, workingDir: string, entry: string): { bytes: number; startBytes: number } {
  const outputs = Object.fromEntries(Object.entries(meta.outputs).filter(([file]) => file.endsWith('.js')).map(([file, output]) => [path.resolve(workingDir, file), output]));
  const atStart = new Set<string>();
  const visit = (file: string): void => {
    if (atStart.has(file) || !outputs[file]) return;
    atStart.add(file);
    for (const imported of outputs[file].imports) if (imported.kind === 'import-statement' && !imported.external) visit(path.resolve(workingDir, imported.path));
  };
  visit(entry);
  const sum = (files: string[]): number => files.reduce((total, file) => total + outputs[file]!.bytes, 0);
  return { bytes: sum(Object.keys(outputs)), startBytes: sum([...atStart]) };
}

export async function buildAgentBundle(outDir = path.join(REPO_ROOT, 'dist-agent')): Promise<AgentBundle> {
  const rootPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
    license: string;
    engines: Record<string, string>;
    dependencies: Record<string, string>;
  };
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const entry = path.join(outDir, 'edge-agent.js');
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: { 'edge-agent': path.join(REPO_ROOT, 'edge-agent/main.ts') },
    outdir: outDir,
    splitting: true,
    chunkNames: 'lib/[name]-[hash]',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'external',
    metafile: true,
    logLevel: 'warning',
    external: [...NATIVE_EXTERNALS, ...OPTIONAL_ABSENT],
    plugins: [ZOD_ENGLISH_ONLY],
    // CommonJS packages inside an ES module bundle: give them require, __filename and __dirname
    // (in every chunk; esbuild keeps main.ts's #! line first, above this).
    banner: {
      js: [
        "import { createRequire as __edgeCreateRequire } from 'node:module';",
        "import { fileURLToPath as __edgeFileURLToPath } from 'node:url';",
        "import { dirname as __edgeDirname } from 'node:path';",
        'const require = __edgeCreateRequire(import.meta.url);',
        'const __filename = __edgeFileURLToPath(import.meta.url);',
        'const __dirname = __edgeDirname(__filename);',
      ].join('\n'),
    },
  });
  const packages = bundledPackages(result.metafile);
  const forbidden = packages.filter((name) => (FORBIDDEN_IN_AGENT as readonly string[]).includes(name));
  if (forbidden.length > 0) throw new Error(`the agent bundle would contain hub-only packages: ${forbidden.join(', ')}`);
  const externals = externalImports(result.metafile);
  const unexpected = externals.filter((name) => !(NATIVE_EXTERNALS as readonly string[]).includes(name) && !(OPTIONAL_ABSENT as readonly string[]).includes(name));
  if (unexpected.length > 0) throw new Error(`the agent bundle leaves imports unresolved: ${unexpected.join(', ')}`);
  const lazyChunks = Object.fromEntries(
    Object.entries(result.metafile.outputs).flatMap(([file, output]) => (output.entryPoint && output.entryPoint !== 'edge-agent/main.ts' && file.endsWith('.js') ? [[output.entryPoint, path.resolve(REPO_ROOT, file)]] : [])),
  );
  const lazyPackages = Object.keys(lazyChunks).map(packageOf).filter((name): name is string => !!name && !(LAZY_DEFAULT_ONLY as readonly string[]).includes(name));
  if (lazyPackages.length > 0) throw new Error(`the agent imports these packages with import() directly, which loses their named exports in the bundle: ${lazyPackages.join(', ')}; import them from a module of our own`);
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
  return { dir: outDir, entry, ...javaScriptBytes(result.metafile, REPO_ROOT, entry), lazyChunks, packages, externals };
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
