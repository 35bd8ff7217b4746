/**
 * Who may talk to the local API, by address and by name.
 *
 * The API has no authentication, so it binds loopback only, unless the operator says
 * otherwise (`allowRemote`, the agent's `--local-api-allow-remote`). Loopback alone does not
 * keep a web page out: with DNS rebinding a page on `evil.example` makes the victim's browser
 * resolve that name to 127.0.0.1 and read the API as same-origin. The browser still sends
 * `Host: evil.example`, so the server answers only requests whose Host names this machine by a
 * loopback name or an address: IP literals cannot be rebound (a page served from an IP is that
 * IP), and `localhost` and `*.localhost` always mean loopback (RFC 6761). With
 * `allowRemote` the machine's own addresses and its host name are accepted too.
 */
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/** Whether binding `host` keeps the API on this machine: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopbackAddress(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || isLoopbackIp(name);
}

function isLoopbackIp(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) !== 6) return false;
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped !== null && (mapped[1] as string).startsWith('127.');
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** The host part of a Host header (`name`, `name:port`, `[v6]`, `[v6]:port`), lower case, without a trailing dot; undefined when malformed. */
export function hostOfHeader(header: string): string | undefined {
  const value = header.trim().toLowerCase();
  let host: string;
  let rest: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return undefined;
    host = value.slice(1, close);
    rest = value.slice(close + 1);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = value.indexOf(':');
    host = colon < 0 ? value : value.slice(0, colon);
    rest = colon < 0 ? '' : value.slice(colon);
  }
  if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
  host = host.replace(/\.$/, '');
  if (host === '' || !/^[a-z0-9.\-:_]+$/.test(host)) return undefined;
  return host;
}

export interface HostPolicyOptions {
  /** The address the server is bound to, as given to `listen`. */
  boundHost: string;
  /** Also accept the machine's addresses and host name (the API is served beyond loopback). */
  allowRemote: boolean;
  /** More names to accept (for example the DNS name remote clients use). */
  extraNames?: readonly string[];
}

export class HostPolicy {
  private readonly bound: string;
  private readonly names: Set<string>;

  constructor(private readonly options: HostPolicyOptions) {
    this.bound = options.boundHost.toLowerCase().replace(/^\[|\]$/g, '');
    this.names = new Set((options.extraNames ?? []).map((name) => name.toLowerCase().replace(/\.$/, '')));
    if (options.allowRemote) this.names.add(hostname().toLowerCase());
  }

  /** Why a request with this Host header is refused, or undefined when it is accepted. A missing Host (HTTP/1.0) is accepted: browsers always send one. */
  refusal(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    const host = hostOfHeader(header);
    if (host === undefined) return `the Host header ${JSON.stringify(header.slice(0, 256))} is malformed`;
    if (this.accepts(host)) return undefined;
    return `the edge local API answers only to loopback names and this machine's addresses, not to host ${JSON.stringify(host.slice(0, 256))} (DNS-rebinding defence)`;
  }

  private accepts(host: string): boolean {
    if (host === 'localhost' || host.endsWith('.localhost')) return true;
    if (isLoopbackIp(host)) return true;
    if (host === this.bound || this.names.has(host)) return true;
    // Bound to a wildcard address (only with allowRemote): any address of this machine.
    if (isWildcard(this.bound) && isIP(host) !== 0) return localAddresses().has(host);
    return false;
  }
}

function localAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) addresses.add(entry.address.toLowerCase().replace(/%.*$/, ''));
  }
  return addresses;
}
