-- Every version of every STIX object, as the JSON it arrived in. seq orders
-- versions by the time the store first saw them (date_added). Text keys use
-- the "C" collation: byte order, as in SQLite, whatever the database locale.
CREATE TABLE objects (
    seq          bigint   PRIMARY KEY,
    id           text     COLLATE "C" NOT NULL,
    type         text     COLLATE "C" NOT NULL,
    vkey         text     COLLATE "C" NOT NULL, -- version key: modified, else created, fixed width; '' when none
    spec_version text     COLLATE "C" NOT NULL,
    created_by   text     COLLATE "C" NOT NULL DEFAULT '',
    markings     text     COLLATE "C" NOT NULL DEFAULT '', -- object_marking_refs joined by spaces
    revoked      boolean  NOT NULL DEFAULT false,
    latest       boolean  NOT NULL DEFAULT false,
    added        bigint   NOT NULL,                         -- date_added, Unix nanoseconds, strictly increasing with seq
    -- Distribution (see docs/access.md): owning organisation, effective level
    -- (0 organisation, 1 sharing group, 2 community, 3 connected, 4 public)
    -- and sharing group.
    owner        text     COLLATE "C" NOT NULL DEFAULT '',
    level        smallint NOT NULL DEFAULT 2,
    sgroup       text     COLLATE "C" NOT NULL DEFAULT '',
    raw          bytea    NOT NULL
);
CREATE UNIQUE INDEX objects_id_vkey ON objects (id, vkey);
-- At most one latest version per id: the database itself refuses a second.
CREATE UNIQUE INDEX objects_latest_id ON objects (id) WHERE latest;
CREATE INDEX objects_latest_seq ON objects (seq) WHERE latest AND NOT revoked;
CREATE INDEX objects_latest_type ON objects (type, seq) WHERE latest;
CREATE INDEX objects_type_all ON objects (type, seq);
CREATE INDEX objects_latest_created_by ON objects (created_by, seq) WHERE latest AND created_by <> '';
CREATE UNIQUE INDEX objects_added ON objects (added);
CREATE INDEX objects_owner ON objects (owner) WHERE owner <> '';

-- Derived indexes, one row per (value, object version). The (seq) indexes
-- serve the replacement of an object without a version key.
CREATE TABLE refs (
    target text   COLLATE "C" NOT NULL,
    prop   text   COLLATE "C" NOT NULL,
    seq    bigint NOT NULL
);
CREATE INDEX refs_target ON refs (target, seq);
CREATE INDEX refs_seq ON refs (seq);

CREATE TABLE labels (
    label text   COLLATE "C" NOT NULL,
    seq   bigint NOT NULL
);
CREATE INDEX labels_label ON labels (label, seq);
CREATE INDEX labels_seq ON labels (seq);

-- External ids are stored lower-cased and looked up lower-cased.
CREATE TABLE external_ids (
    ext_id text   COLLATE "C" NOT NULL,
    seq    bigint NOT NULL
);
CREATE INDEX external_ids_ext_id ON external_ids (ext_id, seq);
CREATE INDEX external_ids_seq ON external_ids (seq);

CREATE TABLE obs_values (
    value text   COLLATE "C" NOT NULL,
    seq   bigint NOT NULL
);
CREATE INDEX obs_values_value ON obs_values (value, seq);
CREATE INDEX obs_values_seq ON obs_values (seq);

-- Full-text search over name, description and aliases. mamori tokenises the
-- text itself (Unicode letters and digits, lower case, diacritics removed)
-- and stores the lexemes with their positions, so search does not depend on
-- the database's locale or text search configuration.
CREATE TABLE objects_fts (
    seq bigint   PRIMARY KEY,
    doc tsvector NOT NULL
);
CREATE INDEX objects_fts_doc ON objects_fts USING gin (doc);

-- Collections shared over TAXII; membership has its own sequence so that a
-- collection's date_added order is strict.
CREATE TABLE collections (
    id          text     COLLATE "C" PRIMARY KEY,
    title       text     COLLATE "C" NOT NULL UNIQUE,
    description text     NOT NULL DEFAULT '',
    created     bigint   NOT NULL,
    level       smallint NOT NULL DEFAULT 2, -- default distribution of objects written into it
    sgroup      text     COLLATE "C" NOT NULL DEFAULT ''
);
CREATE TABLE collection_objects (
    cseq  bigint PRIMARY KEY,
    coll  text   COLLATE "C" NOT NULL REFERENCES collections (id),
    seq   bigint NOT NULL,
    added bigint NOT NULL
);
CREATE UNIQUE INDEX collection_objects_coll_seq ON collection_objects (coll, seq);
CREATE INDEX collection_objects_coll_cseq ON collection_objects (coll, cseq);

-- The writer clock: the last seq, cseq and date_added handed out. A write
-- transaction locks this row first (SELECT … FOR UPDATE), which serialises
-- writers across every process sharing the database, and reads where to
-- continue; it writes the new values back before it commits. A rolled-back
-- transaction leaves the row as it was: its numbers were never visible.
CREATE TABLE writer_clock (
    id         integer PRIMARY KEY CHECK (id = 1),
    last_seq   bigint  NOT NULL,
    last_cseq  bigint  NOT NULL,
    last_added bigint  NOT NULL
);
INSERT INTO writer_clock (id, last_seq, last_cseq, last_added) VALUES (1, 0, 0, 0);
