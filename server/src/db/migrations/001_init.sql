-- Switchboard cluster mode: orders, tasks, task events, workers and instances.
-- Applied once, in a transaction, by server/src/db/migrate.ts. Never edit an
-- applied migration: add 002_….sql instead (additive changes only).

CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);

-- COLLATE "C": ids order by their UTF-8 bytes, exactly like SQLite's BINARY.
CREATE TABLE orders (
  id text COLLATE "C" PRIMARY KEY,
  items text NOT NULL,             -- JSON array of strings
  description text NOT NULL,
  price_cents bigint NOT NULL,
  destination text NOT NULL
);

-- One row per task: the Task message (protobuf binary) plus the columns the
-- queries use. seq orders tasks by submission.
CREATE TABLE tasks (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  state integer NOT NULL,
  worker_id text NOT NULL,
  attempt integer NOT NULL DEFAULT 0,
  labels jsonb NOT NULL DEFAULT '{}',
  data bytea NOT NULL
);
CREATE INDEX tasks_state ON tasks (state, seq);
CREATE INDEX tasks_worker ON tasks (worker_id, seq);

-- Every task change, in commit order (writers serialize on an advisory lock
-- before appending), so a watcher reading seq > cursor never skips one.
CREATE TABLE task_events (
  seq bigserial PRIMARY KEY,
  task_id text NOT NULL,
  data bytea NOT NULL
);

-- Server instances (cluster mode): alive while expires_at is in the future.
CREATE TABLE instances (
  id text PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);

-- Workers: the Node message plus the instance holding its AssignTask stream
-- (NULL: detached) and when it was last heard of (heartbeat or detach).
CREATE TABLE nodes (
  id text COLLATE "C" PRIMARY KEY,
  data bytea NOT NULL,
  instance_id text,
  seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nodes_instance ON nodes (instance_id);
