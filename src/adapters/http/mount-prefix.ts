// Where the app is mounted as the browser sees it: the path in front of the routes that a gateway
// strips before routing (an API Gateway stage, a custom domain's base path), so that pages can
// build links the browser can follow. Only an adapter that did the stripping says so, in the fetch
// env; never a request header, which any client can write. The Node server mounts at the root ('').

/** path segments only ('' or '/a/b'): no '.' or '..' segment, nothing to escape or break out of a URL */
const SHAPE = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._~-]+)*$/;

export const isMountPrefix = (s: string): boolean => s.length <= 256 && SHAPE.test(s);

/** The prefix an adapter handed over in the fetch env, or '' when there is none or it has another shape. */
export const mountPrefixOf = (env: unknown): string => {
  const p = typeof env === 'object' && env !== null ? (env as { mountPrefix?: unknown }).mountPrefix : undefined;
  return typeof p === 'string' && isMountPrefix(p) ? p : '';
};
