/**
 * A port the server cannot bind, explained in one line for the person who
 * started it (main.ts prints `message` without a stack trace and exits 1).
 */
export class BindError extends Error {
  override readonly name = "BindError";
  /** The errno code behind it: EADDRINUSE, EACCES, EADDRNOTAVAIL. */
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

/** Turns a bind failure of `host:port` into a `BindError`; other errors are returned as they are. */
export function explainBindError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (code) {
    case "EADDRINUSE":
      return new BindError(
        `port ${port} is already in use (${where}): stop the other process or choose another port ` +
          `with --port N (e.g. npm start -- --port ${port === 65535 ? 8081 : port + 1}; --port 0 picks a free one)`,
        code,
      );
    case "EACCES":
      return new BindError(
        `no permission to listen on port ${port} (${where}): ports below 1024 need privileges; choose another with --port N`,
        code,
      );
    case "EADDRNOTAVAIL":
      return new BindError(`cannot listen on ${where}: ${host} is not an address of this machine; choose another with --host`, code);
    default:
      return err;
  }
}
