import type { Interceptor } from "@connectrpc/connect";

/**
 * Adds `Authorization: Bearer <token>` to every request. The token is only
 * ever put in the header; it is never logged or included in errors.
 */
export function bearerTokenInterceptor(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (next) => (req) => {
    req.header.set("Authorization", value);
    return next(req);
  };
}
