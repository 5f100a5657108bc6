-- Every version of every STIX object, as the JSON it arrived in.
-- seq orders versions by the time the store first saw them (date_added).
CREATE TABLE objects (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    vkey         TEXT    NOT NULL, -- version key: modified, else created, normalised (see docs/schema.md); '' when none
    spec_version TEXT    NOT NULL,
    created_by   TEXT    NOT NULL DEFAULT '',
    markings     TEXT    NOT NULL DEFAULT '', -- object_marking_refs joined by spaces
    revoked      INTEGER NOT NULL DEFAULT 0,
    latest       INTEGER NOT NULL DEFAULT 0,
    added        INTEGER NOT NULL,            -- date_added, Unix nanoseconds, strictly increasing with seq
    raw          BLOB    NOT NULL
);
CREATE UNIQUE INDEX objects_id_vkey ON objects (id, vkey);
CREATE INDEX objects_latest_type ON objects (type, seq) WHERE latest = 1;
CREATE INDEX objects_type_all ON objects (type, seq);
CREATE INDEX objects_latest_created_by ON objects (created_by) WHERE latest = 1 AND created_by <> '';
CREATE INDEX objects_added ON objects (added);

-- Derived indexes, one row per (value, object version).
CREATE TABLE refs (
    target TEXT    NOT NULL,
    prop   TEXT    NOT NULL,
    seq    INTEGER NOT NULL REFERENCES objects (seq)
);
CREATE INDEX refs_target ON refs (target, seq);
CREATE INDEX refs_seq ON refs (seq);

CREATE TABLE labels (
    label TEXT    NOT NULL,
    seq   INTEGER NOT NULL REFERENCES objects (seq)
);
CREATE INDEX labels_label ON labels (label, seq);

CREATE TABLE external_ids (
    ext_id TEXT    NOT NULL COLLATE NOCASE,
    seq    INTEGER NOT NULL REFERENCES objects (seq)
);
CREATE INDEX external_ids_ext_id ON external_ids (ext_id, seq);

CREATE TABLE obs_values (
    value TEXT    NOT NULL,
    seq   INTEGER NOT NULL REFERENCES objects (seq)
);
CREATE INDEX obs_values_value ON obs_values (value, seq);

-- Full-text search over name, description and aliases; rowid is objects.seq.
CREATE VIRTUAL TABLE objects_fts USING fts5 (
    name, description, aliases,
    content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);

-- Collections shared over TAXII; membership has its own sequence so that a
-- collection's date_added order is strict.
CREATE TABLE collections (
    id          TEXT PRIMARY KEY,
    title       TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    created     INTEGER NOT NULL
);
CREATE TABLE collection_objects (
    cseq  INTEGER PRIMARY KEY,
    coll  TEXT    NOT NULL REFERENCES collections (id),
    seq   INTEGER NOT NULL REFERENCES objects (seq),
    added INTEGER NOT NULL
);
CREATE UNIQUE INDEX collection_objects_coll_seq ON collection_objects (coll, seq);
CREATE INDEX collection_objects_coll_cseq ON collection_objects (coll, cseq);
