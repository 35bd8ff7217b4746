/**
 * Kubernetes name rules that the protocol relies on. Node names end up in MQTT topics and
 * file paths, so they are checked exactly as the API server checks them.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;

/** Why `name` is not a DNS-1123 subdomain (as Kubernetes requires of Node names), or undefined if it is one. */
export function dns1123SubdomainError(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > DNS1123_SUBDOMAIN_MAX) return `must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`;
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Why `name` is not a DNS-1123 label (as Kubernetes requires of namespaces), or undefined if it is one. */
export function dns1123LabelError(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > DNS1123_LABEL_MAX) return `must be no more than ${DNS1123_LABEL_MAX} characters`;
  if (!DNS1123_LABEL.test(name)) {
    return "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  }
  return undefined;
}

export function isNodeName(name: string): boolean {
  return dns1123SubdomainError(name) === undefined;
}

/** Throws a message naming the rule when `name` cannot be a Node name. */
export function assertNodeName(name: string): string {
  const why = dns1123SubdomainError(name);
  if (why !== undefined) throw new Error(`invalid node name ${JSON.stringify(name)}: ${why}`);
  return name;
}
