-- Which sources reported which objects (see store.Provenance).
CREATE TABLE object_sources (
    object_id  text   COLLATE "C" NOT NULL,
    source     text   COLLATE "C" NOT NULL,
    first_seen bigint NOT NULL,
    last_seen  bigint NOT NULL,
    count      bigint NOT NULL,
    PRIMARY KEY (object_id, source)
);
CREATE INDEX object_sources_source ON object_sources (source);

-- Feed definitions and run state (see store.Feeds). options and stats are
-- JSON objects.
CREATE TABLE feeds (
    name          text    COLLATE "C" PRIMARY KEY,
    url           text    NOT NULL,
    format        text    NOT NULL,
    every_ns      bigint  NOT NULL DEFAULT 0,
    enabled       boolean NOT NULL DEFAULT true,
    options       text    NOT NULL DEFAULT '{}',
    etag          text    NOT NULL DEFAULT '',
    last_modified text    NOT NULL DEFAULT '',
    last_run      bigint  NOT NULL DEFAULT 0,
    last_success  bigint  NOT NULL DEFAULT 0,
    last_error    text    NOT NULL DEFAULT '',
    stats         text    NOT NULL DEFAULT '{}'
);
