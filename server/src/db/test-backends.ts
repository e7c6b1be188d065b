// Test helper: the storage backends a contract suite runs against — the
// embedded SQLite store (a temp dir) and PostgreSQL (a fresh database on one
// throwaway server per test file, from tests/harness/postgres.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { startPostgres, type TestPostgres } from "@switchboard/test-harness/postgres";
import { silentLogger } from "../logger.ts";
import { PgDb } from "./pg-db.ts";

/** What a contract test gets to open a store on. */
export interface Backend {
  readonly name: "sqlite" | "postgres";
  /** A fresh, empty place for a store; `reopen` opens the same place again. */
  fresh(t: { after(fn: () => unknown): void }): Promise<{ dir: string; db?: PgDb; reopen(): Promise<{ dir: string; db?: PgDb }> }>;
}

let server: TestPostgres | undefined;
let dbCount = 0;

/** Both backends; PostgreSQL is started before the file's tests and stopped after. */
export function backends(): Backend[] {
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.cleanup();
  });
  return [
    {
      name: "sqlite",
      async fresh(t) {
        const dir = mkdtempSync(path.join(tmpdir(), "store-contract-"));
        t.after(() => rmSync(dir, { recursive: true, force: true }));
        return { dir, reopen: async () => ({ dir }) };
      },
    },
    {
      name: "postgres",
      async fresh(t) {
        const url = await server!.createDatabase(`t${process.pid}_${++dbCount}`);
        const open = async () => {
          const db = await PgDb.open({ url }, silentLogger());
          t.after(() => db.close());
          return { dir: "", db };
        };
        return { ...(await open()), reopen: open };
      },
    },
  ];
}
