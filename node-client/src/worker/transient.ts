import { Code } from "@connectrpc/connect";

/**
 * Codes after which the worker reconnects (with backoff): the master was
 * unreachable, restarting, overloaded or cut the stream. Everything else —
 * UNAUTHENTICATED and PERMISSION_DENIED above all (a wrong or missing token
 * stays wrong), INVALID_ARGUMENT, UNIMPLEMENTED (no node service there) — is
 * a configuration error: retrying cannot fix it, so the worker stops.
 */
export function isTransient(code: Code): boolean {
  switch (code) {
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.Unknown:
    case Code.Internal:
    case Code.Canceled:
    case Code.Aborted:
    case Code.ResourceExhausted:
      return true;
    default:
      return false;
  }
}

/** What the operator should do about a non-transient code, in one sentence. */
export function fatalHint(code: Code): string {
  switch (code) {
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return "the master requires its auth token: pass it with --token TOKEN, --token-file FILE or $SWITCHBOARD_TOKEN";
    case Code.Unimplemented:
      return "the server at --server does not host node.v1.NodeService (start it with --services including node)";
    default:
      return "retrying cannot fix this; check the worker's flags";
  }
}
