-- Which sources reported which objects (see store.Provenance).
CREATE TABLE object_sources (
    object_id  TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (object_id, source)
) WITHOUT ROWID;
CREATE INDEX object_sources_source ON object_sources (source);

-- Feed definitions and run state (see store.Feeds).
CREATE TABLE feeds (
    name          TEXT PRIMARY KEY,
    url           TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    every_ns      INTEGER NOT NULL DEFAULT 0,
    enabled       INTEGER NOT NULL DEFAULT 1,
    options       TEXT    NOT NULL DEFAULT '{}',
    etag          TEXT    NOT NULL DEFAULT '',
    last_modified TEXT    NOT NULL DEFAULT '',
    last_run      INTEGER NOT NULL DEFAULT 0,
    last_success  INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT    NOT NULL DEFAULT '',
    stats         TEXT    NOT NULL DEFAULT '{}'
);
