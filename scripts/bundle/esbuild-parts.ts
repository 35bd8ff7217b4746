/**
 * What the agent's and the hub's bundles (scripts/agent-bundle/, scripts/hub-bundle/) build the
 * same way: esbuild's options for an ES module bundle of a Node.js program, and what the build
 * reads back from esbuild's metafile (the packages bundled, imports left to run time, bytes).
 */
import type { BuildOptions, Metafile, Plugin } from 'esbuild';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, from scripts/bundle/ or dist/scripts/bundle/. */
export const REPO_ROOT = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

/**
 * Optional packages required inside try/catch that are not installed in the dev tree either
 * (ws's native accelerators, debug's supports-color): their users fall back to plain JavaScript.
 */
export const OPTIONAL_ABSENT = ['bufferutil', 'utf-8-validate', 'supports-color'] as const;

/**
 * zod's messages in English only. zod/mini re-exports every locale it has (`z.locales`, 260 KB of
 * the bundle); protocol/zod.ts configures English from zod/v4/locales/en.js, and we use no other.
 * This stub in place of zod/v4/locales/index.js keeps `en` (so every message is unchanged) and
 * drops the rest, which V8 otherwise parses at start (0.26 MB less read at start).
 */
export const ZOD_ENGLISH_ONLY: Plugin = {
  name: 'zod-english-only',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ contents: 'export { default as en } from "./en.js";', loader: 'js', resolveDir: path.join(REPO_ROOT, 'node_modules/zod/v4/locales') }));
  },
};

/**
 * esbuild's options for `entry` (a TypeScript source, by its output name) as minified ES modules
 * in `outDir`: the entry file, and `lib/` with the chunks it imports. Lazy imports (`await
 * import(...)`) become chunks of their own (code splitting) that Node.js never reads until then.
 */
export function bundleOptions(entryName: string, entrySource: string, outDir: string, external: readonly string[], plugins: Plugin[] = []): BuildOptions & { metafile: true } {
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: { [entryName]: path.join(REPO_ROOT, entrySource) },
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
    external: [...external, ...OPTIONAL_ABSENT],
    plugins: [ZOD_ENGLISH_ONLY, ...plugins],
    // CommonJS packages inside an ES module bundle: give them require, __filename and __dirname
    // (in every chunk; esbuild keeps the entry's #! line first, above this).
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
  };
}

/** What a bundle build made, and what it holds. */
export interface BuiltBundle {
  dir: string;
  entry: string;
  /** Bytes of JavaScript: the entry and every chunk in lib/. */
  bytes: number;
  /** Bytes of the JavaScript read at start: the entry and the chunks it imports statically. */
  startBytes: number;
  /** The chunks loaded on first use (`await import(...)`), by the source file they start from. */
  lazyChunks: Record<string, string>;
  /** The npm packages bundled (from node_modules), by name. */
  packages: string[];
  /** Imports left to run time that are not Node.js built-ins. */
  externals: string[];
}

/** The fields of the repository's package.json a bundle's own manifest takes over. */
export interface RootPackage {
  version: string;
  license: string;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
}

export function readRootPackage(): RootPackage {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as RootPackage;
}

/** `outDir`, emptied (a bundle's chunk names change with its content: old ones must not stay). */
export function emptyDir(outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
}

/** The package an input path of the metafile belongs to (node_modules/@scope/name/... -> @scope/name). */
export function packageOf(input: string): string | undefined {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

export function bundledPackages(meta: Metafile): string[] {
  return [...new Set(Object.keys(meta.inputs).map(packageOf).filter((name): name is string => !!name))].sort();
}

/** Imports left to run time that are not Node.js built-ins. */
export function externalImports(meta: Metafile): string[] {
  const found = new Set<string>();
  for (const input of Object.values(meta.inputs)) {
    for (const imported of input.imports) {
      if (imported.external && !isBuiltin(imported.path) && imported.path !== '<runtime>') found.add(imported.path);
    }
  }
  return [...found].sort();
}

/** Fails the build on an import left to run time that is not in `allowed`. */
export function checkExternals(meta: Metafile, allowed: readonly string[], what: string): string[] {
  const externals = externalImports(meta);
  const unexpected = externals.filter((name) => !allowed.includes(name) && !(OPTIONAL_ABSENT as readonly string[]).includes(name));
  if (unexpected.length > 0) throw new Error(`${what} leaves imports unresolved: ${unexpected.join(', ')}`);
  return externals;
}

/**
 * Chunks loaded on first use (`await import(...)`), by the source file they start from. A CommonJS
 * package imported this way exposes only `default` in its chunk (its named exports are lost, unlike
 * under Node.js's loader): such packages are allowed only when listed in `defaultOnly`.
 */
export function lazyChunks(meta: Metafile, entrySource: string, defaultOnly: readonly string[], what: string): Record<string, string> {
  const chunks = Object.fromEntries(
    Object.entries(meta.outputs).flatMap(([file, output]) => (output.entryPoint && output.entryPoint !== entrySource && file.endsWith('.js') ? [[output.entryPoint, path.resolve(REPO_ROOT, file)]] : [])),
  );
  const packages = Object.keys(chunks).map(packageOf).filter((name): name is string => !!name && !defaultOnly.includes(name));
  if (packages.length > 0) throw new Error(`${what} imports these packages with import() directly, which loses their named exports in the bundle: ${packages.join(', ')}; import them from a module of our own`);
  return chunks;
}

/** Bytes of every output script, and of those read at start (the entry and its static imports). */
export function javaScriptBytes(meta: Metafile, entry: string): { bytes: number; startBytes: number } {
  const outputs = Object.fromEntries(Object.entries(meta.outputs).filter(([file]) => file.endsWith('.js')).map(([file, output]) => [path.resolve(REPO_ROOT, file), output]));
  const atStart = new Set<string>();
  const visit = (file: string): void => {
    if (atStart.has(file) || !outputs[file]) return;
    atStart.add(file);
    for (const imported of outputs[file].imports) if (imported.kind === 'import-statement' && !imported.external) visit(path.resolve(REPO_ROOT, imported.path));
  };
  visit(entry);
  const sum = (files: string[]): number => files.reduce((total, file) => total + outputs[file]!.bytes, 0);
  return { bytes: sum(Object.keys(outputs)), startBytes: sum([...atStart]) };
}

/** The output file (absolute) that holds a source file's code, from the metafile. */
export function outputHolding(meta: Metafile, source: string): string | undefined {
  for (const [file, output] of Object.entries(meta.outputs)) if (file.endsWith('.js') && output.inputs[source]) return path.resolve(REPO_ROOT, file);
  return undefined;
}
