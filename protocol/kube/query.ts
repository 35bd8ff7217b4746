/** Query parameters read the way kube-apiserver reads them. */

/**
 * A boolean query parameter (`watch`, `allowWatchBookmarks`, `sendInitialEvents`) as
 * kube-apiserver converts it (apimachinery's Convert_Slice_string_To_bool, and its
 * RequestInfoFactory for `watch`): absent is undefined; "0" and "false" in any case are false;
 * anything else, even the empty value of `?watch`, is true.
 */
export function queryFlag(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  return !(value === '0' || value.toLowerCase() === 'false');
}
