/**
 * `cloud-hub token mosquitto-auth`: writes mosquitto's password files and ACLs (and, when
 * asked, a mosquitto.conf using them) from the node tokens. Files are replaced atomically, so
 * a broker reloading on SIGHUP never reads half a file, and are given to the broker's user:
 * mosquitto started as root reads them only after it has dropped to user `mosquitto`.
 */
import { chownSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mosquittoHubAcl, mosquittoNodeAcl } from './broker-acl.js';
import { MOSQUITTO_FILES, mosquittoConf, mosquittoPasswordFile, mosquittoPasswordHash, type MosquittoConfOptions } from './mosquitto-files.js';

export interface FileOwner {
  uid: number;
  gid: number;
}

export interface MosquittoAuthOptions {
  dir: string;
  hubUser: string;
  hubPassword: string;
  /** Node -> mosquitto password hash, as TokenAdmin.mosquittoHashes() returns them ('' = none). */
  hashes: Map<string, string>;
  owner?: FileOwner;
  /** Also write a mosquitto.conf here (its paths point at `dir`, or at conf.authDir when given). */
  conf?: { file: string } & Omit<MosquittoConfOptions, 'authDir'> & { authDir?: string };
}

/** Password files: readable by the owner and its group (root:mosquitto works), never by others. */
export const PASSWORD_FILE_MODE = 0o640;
export const PUBLIC_FILE_MODE = 0o644;

export function writeMosquittoAuth(options: MosquittoAuthOptions): { nodes: number; files: string[] } {
  const { dir, owner } = options;
  mkdirSync(dir, { recursive: true });
  const nodes = [...options.hashes].filter(([, hash]) => hash);
  const files: [name: string, text: string, mode: number][] = [
    [path.join(dir, MOSQUITTO_FILES.nodePasswords), mosquittoPasswordFile(nodes), PASSWORD_FILE_MODE],
    [path.join(dir, MOSQUITTO_FILES.nodeAcl), mosquittoNodeAcl(), PUBLIC_FILE_MODE],
    [path.join(dir, MOSQUITTO_FILES.hubPasswords), mosquittoPasswordFile([[options.hubUser, mosquittoPasswordHash(options.hubPassword)]]), PASSWORD_FILE_MODE],
    [path.join(dir, MOSQUITTO_FILES.hubAcl), mosquittoHubAcl(options.hubUser), PUBLIC_FILE_MODE],
  ];
  if (options.conf) {
    const { file, authDir, ...conf } = options.conf;
    files.push([file, mosquittoConf({ ...conf, authDir: authDir ?? path.resolve(dir) }), PUBLIC_FILE_MODE]);
  }
  for (const [file, text, mode] of files) writeAtomically(file, text, mode, owner);
  return { nodes: nodes.length, files: files.map(([file]) => file) };
}

function writeAtomically(file: string, text: string, mode: number, owner: FileOwner | undefined): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode });
  if (owner) chownSync(temporary, owner.uid, owner.gid);
  renameSync(temporary, file);
}

/**
 * `USER`, `USER:GROUP`, `:GROUP` or numeric ids, as chown takes them. Names are looked up in
 * /etc/passwd and /etc/group (use numeric ids for users only a directory service knows).
 */
export function resolveOwner(spec: string, files = { passwd: '/etc/passwd', group: '/etc/group' }): FileOwner {
  const [userPart = '', groupPart] = spec.split(':', 2);
  let uid = process.getuid?.() ?? 0;
  let gid = process.getgid?.() ?? 0;
  if (userPart) {
    const user = lookup(files.passwd, userPart, 'user');
    uid = user.id;
    gid = user.gid;
  }
  if (groupPart) gid = lookup(files.group, groupPart, 'group').id;
  return { uid, gid };
}

function lookup(file: string, name: string, what: 'user' | 'group'): { id: number; gid: number } {
  if (/^\d+$/.test(name)) return { id: Number(name), gid: Number(name) };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // Reported below as an unknown name.
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 4) return { id: Number(fields[2]), gid: Number(fields[3]) };
  }
  throw new Error(`--owner: no ${what} named "${name}" in ${file} (give a numeric id instead)`);
}
