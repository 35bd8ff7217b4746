/**
 * The path and query of a request, read from the request line without `new URL(req.url, base)`:
 * that call resolves `//host/...` as a network-path reference and throws on `///`, `//%` and
 * `//[` (which took the whole agent down once). Here the origin-form target is split at the
 * first `?` and nothing is resolved, so any bytes give either a path and a query or a 400.
 * Percent-decoding is left to the router, per segment, where a bad escape is a 404.
 */
import { statusErrors } from '../../protocol/kube/index.js';

export interface RequestTarget {
  /** Still percent-encoded. */
  pathname: string;
  query: URLSearchParams;
}

export function parseRequestTarget(target: string | undefined): RequestTarget {
  const raw = target ?? '/';
  if (raw.startsWith('/')) return split(raw);
  // absolute-form, which HTTP/1.1 servers must accept (RFC 9112, 3.2.2): only its path counts.
  if (/^https?:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw statusErrors.badRequest('the request target is not a valid URL');
    }
    return split(`${url.pathname}${url.search}`);
  }
  // asterisk-form (OPTIONS *) and authority-form (CONNECT) name no resource here.
  throw statusErrors.badRequest('the request target must be a path');
}

function split(target: string): RequestTarget {
  const hash = target.indexOf('#');
  const withoutFragment = hash < 0 ? target : target.slice(0, hash);
  const question = withoutFragment.indexOf('?');
  if (question < 0) return { pathname: withoutFragment, query: new URLSearchParams() };
  // URLSearchParams decodes leniently (a bad escape stays as it is) and never throws.
  return { pathname: withoutFragment.slice(0, question), query: new URLSearchParams(withoutFragment.slice(question + 1)) };
}
