import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startPostgres, type TestPostgres } from "@switchboard/test-harness/postgres";
import { migrate, migrations } from "./migrate.ts";
import { PgDb } from "./pg-db.ts";
import { silentLogger } from "../logger.ts";

let server: TestPostgres;
before(async () => {
  server = await startPostgres();
});
after(() => server.cleanup());

test("three instances migrating one database at once: each migration applied exactly once", async () => {
  const url = await server.createDatabase("migrate_race");
  const pools = [0, 1, 2].map(() => new pg.Pool({ connectionString: url, max: 2 }));
  try {
    const applied = await Promise.all(pools.map((p) => migrate(p)));
    const all = migrations().map((m) => m.version);
    assert.ok(all.length >= 1);
    // Exactly one of them applied everything; the others found nothing to do.
    assert.deepEqual(applied.map((a) => a.length).sort(), [0, 0, all.length]);
    assert.deepEqual(applied.flat().sort(), all);
    const rows = await pools[0]!.query("SELECT version FROM schema_migrations ORDER BY version");
    assert.deepEqual(rows.rows.map((r) => r.version), all);
    assert.deepEqual(await migrate(pools[1]!), [], "a restart applies nothing again");
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});

test("a URL with a password never shows up in the error of a failed open", async () => {
  const url = `postgres://postgres:sup3rsecret@127.0.0.1:${server.port}/no_such_db`;
  await assert.rejects(PgDb.open({ url }, silentLogger()), (err: Error) => {
    assert.match(err.message, /no_such_db/);
    assert.doesNotMatch(err.message, /sup3rsecret/);
    return true;
  });
});
