/**
 * Who may use the hub's kubelet endpoint, decided the way the kubelet decides it
 * (kubelet's server/auth.go): the caller is authenticated by a client certificate signed by
 * `--kubelet-client-ca-file` (kube-apiserver's `--kubelet-client-certificate`) or by a bearer
 * token checked with a TokenReview, and every request is authorised with a
 * SubjectAccessReview on the Node: `nodes/stats` for `/stats`, `nodes/metrics` for `/metrics`,
 * `nodes/log` for `/logs`, `nodes/proxy` for everything else; the verb from the HTTP method
 * (GET get, POST create, PUT update, PATCH patch, DELETE delete) and `create` for an upgrade to
 * exec, attach or port-forward, as kubelet does since WebSocket streams came.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { KubeClient } from '../kube/kube-client.js';

export interface KubeletUser {
  username: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export type KubeletAuthorizationMode = 'AlwaysAllow' | 'Webhook';

export interface KubeletAuthOptions {
  /** Accept bearer tokens, checked with TokenReview (the kubelet's --authentication-token-webhook). */
  tokenWebhook: boolean;
  mode: KubeletAuthorizationMode;
  /** For TokenReview and SubjectAccessReview. */
  client?: KubeClient;
}

export interface RequestAttributes {
  verb: string;
  subresource: 'proxy' | 'stats' | 'metrics' | 'log';
}

/** The kubelet's attribute mapping for a path and method. */
export function requestAttributes(method: string, path: string, upgrade: boolean): RequestAttributes {
  const subresource = path.startsWith('/stats') ? 'stats' : path.startsWith('/metrics') ? 'metrics' : path.startsWith('/logs') ? 'log' : 'proxy';
  const streaming = /^\/(exec|attach|portForward)\//.test(path);
  const verb = upgrade && streaming ? 'create' : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method] ?? 'get';
  return { verb, subresource };
}

export class KubeletAuth {
  constructor(private readonly options: KubeletAuthOptions) {}

  /** The caller, or undefined when it proved nothing. */
  async authenticate(req: IncomingMessage): Promise<KubeletUser | undefined> {
    const socket = req.socket as TLSSocket;
    if (socket.authorized) {
      const cert = socket.getPeerCertificate();
      const cn = cert.subject?.CN;
      const o = cert.subject?.O;
      const name = Array.isArray(cn) ? cn[0] : cn;
      if (name) return { username: name, groups: [...(Array.isArray(o) ? o : o ? [o] : []), 'system:authenticated'] };
    }
    const header = req.headers.authorization ?? '';
    if (!this.options.tokenWebhook || !this.options.client || !/^bearer /i.test(header)) return undefined;
    const token = header.slice('bearer '.length).trim();
    if (!token) return undefined;
    const review = await this.options.client.create<{ status?: { authenticated?: boolean; user?: KubeletUser } }>('/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    const user = review.status?.authenticated ? review.status.user : undefined;
    return user?.username ? { ...user, groups: user.groups ?? [] } : undefined;
  }

  /** Undefined when allowed, else why not. */
  async authorize(user: KubeletUser, node: string, attributes: RequestAttributes): Promise<string | undefined> {
    if (this.options.mode === 'AlwaysAllow') return undefined;
    if (!this.options.client) return 'no API client for SubjectAccessReview';
    const review = await this.options.client.create<{ status?: { allowed?: boolean; reason?: string } }>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.username,
        groups: user.groups,
        ...(user.uid ? { uid: user.uid } : {}),
        ...(user.extra ? { extra: user.extra } : {}),
        resourceAttributes: { verb: attributes.verb, group: '', version: 'v1', resource: 'nodes', subresource: attributes.subresource, name: node },
      },
    });
    if (review.status?.allowed) return undefined;
    return `user "${user.username}" cannot ${attributes.verb} resource "nodes/${attributes.subresource}" for node "${node}"${review.status?.reason ? `: ${review.status.reason}` : ''}`;
  }
}
