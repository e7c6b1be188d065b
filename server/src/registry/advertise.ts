import { hostname } from "node:os";

/**
 * The address clients should dial when `--advertise` is not given: the
 * bound host and port; "localhost" becomes 127.0.0.1 (what the listener
 * binds first), a wildcard host becomes the machine's host name, and IPv6
 * literals get brackets.
 */
export function defaultAdvertise(host: string, port: number): string {
  let h = host;
  if (h === "localhost") h = "127.0.0.1";
  else if (h === "" || h === "0.0.0.0" || h === "::" || h === "[::]") h = hostname();
  else if (h.includes(":") && !h.startsWith("[")) h = `[${h}]`;
  return `${h}:${port}`;
}
