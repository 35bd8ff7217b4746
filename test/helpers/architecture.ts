/**
 * The import graph of the repository's source and the rules it must obey (ARCHITECTURE.md).
 * Pure over a map of file path -> text, so test/architecture.test.ts can run it on the real
 * tree and on small hand-made trees that prove each rule catches what it should.
 *
 * Imports are read with the TypeScript compiler's own scanner (`ts.preProcessFile`): static
 * imports (`import type` too), `export ... from`, dynamic `import()` and `require()`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The folders of each process from top to bottom. A folder may import only the ones listed
 * after it; folders listed together (one inner array) may import each other as long as no
 * folder cycle arises. `.` is the process's own root files. */
export type Layers = Record<string, string[][]>;

export interface Rules {
  layers: Layers;
  /** Most lines a source file may have. */
  maxLines: number;
  /** Files allowed over `maxLines`, each with the reason. Keep it empty. */
  sizeExemptions: Record<string, string>;
}

export interface Import {
  /** Repository-relative path of the importing file. */
  from: string;
  line: number;
  specifier: string;
  /** Repository-relative path of the imported file, for relative imports. */
  to?: string;
}

export const PROCESSES = ['protocol', 'cloud-hub', 'edge-agent', 'sim'] as const;

/** Every .ts file under the given top-level folders, as repository-relative path -> text. */
export function readSources(root: string, folders: readonly string[] = PROCESSES): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) files.set(rel, readFileSync(path.join(root, rel), 'utf8'));
    }
  };
  for (const folder of folders) if (existsSync(path.join(root, folder))) walk(folder);
  return files;
}

export function importsOf(file: string, text: string): Import[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((ref) => {
    const line = text.slice(0, ref.pos).split('\n').length;
    const found: Import = { from: file, line, specifier: ref.fileName };
    if (ref.fileName.startsWith('.')) found.to = path.posix.normalize(path.posix.join(path.posix.dirname(file), ref.fileName)).replace(/\.js$/, '.ts');
    return found;
  });
}

/** `cloud-hub/session/x.ts` -> process `cloud-hub`, folder `session`; `cloud-hub/hub.ts` -> folder `.`. */
export function placeOf(file: string): { process: string; folder: string } {
  const parts = file.split('/');
  return { process: parts[0]!, folder: parts.length > 2 ? parts[1]! : '.' };
}

const where = (i: Import): string => `${i.from}:${i.line} imports '${i.specifier}'`;
const isPackage = (specifier: string, name: string): boolean => specifier === name || specifier.startsWith(`${name}/`);

/** Every violation of the rules, one line each: the file, the import, the rule it breaks. */
export function checkArchitecture(files: Map<string, string>, rules: Rules): string[] {
  const problems: string[] = [];
  const imports = [...files].flatMap(([file, text]) => importsOf(file, text));
  for (const i of imports) problems.push(...boundaryProblems(i));
  problems.push(...layerProblems(imports, rules.layers));
  problems.push(...fileCycleProblems(files, imports));
  problems.push(...sizeProblems(files, rules));
  return problems;
}

function boundaryProblems(i: Import): string[] {
  const from = placeOf(i.from).process;
  const to = i.to ? placeOf(i.to).process : undefined;
  const problems: string[] = [];
  if (from === 'protocol' && to !== undefined && to !== 'protocol') {
    problems.push(`${where(i)}: protocol/ is the contract both ends share and imports nothing of ours outside protocol/`);
  }
  if ((from === 'cloud-hub' && to === 'edge-agent') || (from === 'edge-agent' && to === 'cloud-hub')) {
    problems.push(`${where(i)}: cloud-hub/ and edge-agent/ never import each other; move what both need into protocol/`);
  }
  if (from !== 'sim' && from !== 'test' && (to === 'sim' || to === 'test')) {
    problems.push(`${where(i)}: ${from}/ ships in the product and never imports ${to}/`);
  }
  if ((from === 'edge-agent' || from === 'protocol') && isPackage(i.specifier, '@kubernetes/client-node')) {
    problems.push(`${where(i)}: the edge agent (and protocol/, which it loads) never imports @kubernetes/client-node; use protocol/kube/ for Kubernetes wire shapes`);
  }
  return problems;
}

function layerProblems(imports: Import[], layers: Layers): string[] {
  const problems: string[] = [];
  const rank = new Map<string, number>();
  for (const [process, order] of Object.entries(layers)) order.forEach((group, index) => group.forEach((folder) => rank.set(`${process}/${folder}`, index)));
  const describe = (process: string): string => layers[process]!.map((group) => group.map((f) => (f === '.' ? '(root files)' : `${f}/`)).join(' ')).join(' -> ');
  const folderEdges = new Map<string, Map<string, Import>>();
  const unplaced = new Set<string>();
  const upward = new Set<string>();
  for (const i of imports) {
    if (!i.to) continue;
    const from = placeOf(i.from);
    const to = placeOf(i.to);
    if (from.process !== to.process || from.folder === to.folder || !layers[from.process]) continue;
    const fromKey = `${from.process}/${from.folder}`;
    const toKey = `${to.process}/${to.folder}`;
    for (const key of [fromKey, toKey]) {
      if (!rank.has(key) && !unplaced.has(key)) {
        unplaced.add(key);
        problems.push(`${key === fromKey ? i.from : i.to}: the folder ${key}/ has no place in the layer order of ${from.process}/; add it to LAYERS in test/architecture.test.ts and to ARCHITECTURE.md`);
      }
    }
    const fromRank = rank.get(fromKey);
    const toRank = rank.get(toKey);
    if (fromRank === undefined || toRank === undefined) continue;
    if (toRank < fromRank) {
      problems.push(`${where(i)}: ${fromKey}/ imports ${toKey}/, which is above it in ${from.process}/'s layer order; invert the dependency (an interface below, implemented above) or move the shared piece down`);
      upward.add(from.process);
    }
    if (!folderEdges.has(fromKey)) folderEdges.set(fromKey, new Map());
    if (!folderEdges.get(fromKey)!.has(toKey)) folderEdges.get(fromKey)!.set(toKey, i);
  }
  for (const process of upward) problems.push(`${process}/ layer order, top to bottom (test/architecture.test.ts LAYERS, ARCHITECTURE.md): ${describe(process)}`);
  for (const cycle of cyclesOf([...folderEdges.keys()], (node) => [...(folderEdges.get(node)?.keys() ?? [])])) {
    const steps = cycle.map((node, index) => where(folderEdges.get(node)!.get(cycle[(index + 1) % cycle.length]!)!));
    problems.push(`folder cycle ${[...cycle, cycle[0]].map((f) => `${f}/`).join(' -> ')}: ${steps.join('; ')}`);
  }
  return problems;
}

function fileCycleProblems(files: Map<string, string>, imports: Import[]): string[] {
  const edges = new Map<string, Map<string, Import>>();
  for (const i of imports) {
    if (!i.to || !files.has(i.to)) continue;
    if (!edges.has(i.from)) edges.set(i.from, new Map());
    if (!edges.get(i.from)!.has(i.to)) edges.get(i.from)!.set(i.to, i);
  }
  return cyclesOf([...files.keys()], (file) => [...(edges.get(file)?.keys() ?? [])]).map((cycle) => {
    const steps = cycle.map((file, index) => where(edges.get(file)!.get(cycle[(index + 1) % cycle.length]!)!));
    return `import cycle ${[...cycle, cycle[0]].join(' -> ')}: ${steps.join('; ')}`;
  });
}

function sizeProblems(files: Map<string, string>, rules: Rules): string[] {
  const problems: string[] = [];
  for (const [file, text] of files) {
    const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
    if (lines > rules.maxLines && !(file in rules.sizeExemptions)) {
      problems.push(`${file}: ${lines} lines, over the limit of ${rules.maxLines}; split it along a real seam (one responsibility per file)`);
    }
  }
  for (const file of Object.keys(rules.sizeExemptions)) {
    if (!files.has(file)) problems.push(`${file}: exempt from the size limit but no longer exists; drop the exemption`);
  }
  return problems;
}

/**
 * One cycle through each strongly connected component with more than one node (Tarjan), or a
 * node importing itself. Each cycle is listed as its nodes in import order.
 */
export function cyclesOf(nodes: string[], next: (node: string) => string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const target of next(node)) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || next(node).includes(node)) components.push(component);
    }
  };
  for (const node of [...nodes].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => cycleWithin(new Set(component), next));
}

/** A shortest cycle through the component's first node (in sorted order), by breadth-first search. */
function cycleWithin(component: Set<string>, next: (node: string) => string[]): string[] {
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of next(node)) {
      if (!component.has(target)) continue;
      if (target === start) {
        const cycle = [node];
        while (cycle[0] !== start) cycle.unshift(previous.get(cycle[0]!)!);
        return cycle;
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start];
}
