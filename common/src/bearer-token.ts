import type { Interceptor } from "@connectrpc/connect";

/**
 * Adds `Authorization: Bearer <token>` to every request. The token is only
 * ever put in the header; it is never logged or included in errors. Given a
 * function, it is read on every request (the web UI's token field), and an
 * empty token (after trimming) sends no header.
 */
export function bearerTokenInterceptor(token: string | (() => string)): Interceptor {
  const fixed = typeof token === "string" ? `Bearer ${token}` : undefined;
  return (next) => (req) => {
    const current = typeof token === "string" ? undefined : token().trim();
    const value = fixed ?? (current ? `Bearer ${current}` : undefined);
    if (value !== undefined) req.header.set("Authorization", value);
    return next(req);
  };
}
