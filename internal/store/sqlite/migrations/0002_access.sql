-- Distribution of each object version (see docs/access.md): the owning
-- organisation, the effective level (0 organisation, 1 sharing group,
-- 2 community, 3 connected communities, 4 public) and the sharing group.
ALTER TABLE objects ADD COLUMN owner  TEXT    NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN level  INTEGER NOT NULL DEFAULT 2;
ALTER TABLE objects ADD COLUMN sgroup TEXT    NOT NULL DEFAULT '';
CREATE INDEX objects_owner ON objects (owner) WHERE owner <> '';

ALTER TABLE collections ADD COLUMN level  INTEGER NOT NULL DEFAULT 2;
ALTER TABLE collections ADD COLUMN sgroup TEXT    NOT NULL DEFAULT '';

CREATE TABLE orgs (
    id       TEXT PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE,
    identity TEXT    NOT NULL, -- STIX identity id
    created  INTEGER NOT NULL
);
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    org           TEXT    NOT NULL REFERENCES orgs (id),
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL,
    changed       INTEGER NOT NULL -- sessions issued before this are void
);
CREATE TABLE tokens (
    id        TEXT PRIMARY KEY,
    user_id   TEXT    NOT NULL REFERENCES users (id),
    hash      BLOB    NOT NULL UNIQUE, -- SHA-256 of the secret
    name      TEXT    NOT NULL DEFAULT '',
    created   INTEGER NOT NULL,
    expires   INTEGER NOT NULL DEFAULT 0,
    revoked   INTEGER NOT NULL DEFAULT 0,
    last_used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sharing_groups (
    id      TEXT PRIMARY KEY,
    name    TEXT    NOT NULL UNIQUE,
    created INTEGER NOT NULL
);
CREATE TABLE sharing_group_orgs (
    grp TEXT NOT NULL REFERENCES sharing_groups (id),
    org TEXT NOT NULL REFERENCES orgs (id),
    PRIMARY KEY (grp, org)
);
-- Append-only, hash-chained audit records.
CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY,
    time   INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    org    TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    detail TEXT    NOT NULL,
    prev   BLOB    NOT NULL,
    hash   BLOB    NOT NULL
);
-- Instance settings and secrets (cursor keys, session keys).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
