-- Organisations, users, API tokens and sharing groups (see docs/access.md).
-- Times are Unix nanoseconds; 0 means unset.
CREATE TABLE orgs (
    id       text   COLLATE "C" PRIMARY KEY,
    name     text   COLLATE "C" NOT NULL UNIQUE,
    identity text   NOT NULL, -- STIX identity id
    created  bigint NOT NULL
);
CREATE TABLE users (
    id            text    COLLATE "C" PRIMARY KEY,
    name          text    COLLATE "C" NOT NULL UNIQUE,
    org           text    COLLATE "C" NOT NULL REFERENCES orgs (id),
    role          text    NOT NULL,
    password_hash text    NOT NULL DEFAULT '',
    disabled      boolean NOT NULL DEFAULT false,
    created       bigint  NOT NULL,
    changed       bigint  NOT NULL -- sessions issued before this are void
);
CREATE TABLE tokens (
    id        text    COLLATE "C" PRIMARY KEY,
    user_id   text    COLLATE "C" NOT NULL REFERENCES users (id),
    hash      bytea   NOT NULL UNIQUE, -- SHA-256 of the secret
    name      text    NOT NULL DEFAULT '',
    created   bigint  NOT NULL,
    expires   bigint  NOT NULL DEFAULT 0,
    revoked   boolean NOT NULL DEFAULT false,
    last_used bigint  NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE TABLE sharing_groups (
    id      text   COLLATE "C" PRIMARY KEY,
    name    text   COLLATE "C" NOT NULL UNIQUE,
    created bigint NOT NULL
);
CREATE TABLE sharing_group_orgs (
    grp text COLLATE "C" NOT NULL REFERENCES sharing_groups (id),
    org text COLLATE "C" NOT NULL REFERENCES orgs (id),
    PRIMARY KEY (grp, org)
);
CREATE INDEX sharing_group_orgs_org ON sharing_group_orgs (org, grp);

-- Append-only, hash-chained audit records.
CREATE TABLE audit (
    seq    bigint PRIMARY KEY,
    time   bigint NOT NULL,
    actor  text   NOT NULL,
    org    text   NOT NULL,
    action text   NOT NULL,
    target text   NOT NULL,
    detail text   NOT NULL,
    prev   bytea  NOT NULL,
    hash   bytea  NOT NULL
);

-- Instance settings and secrets (cursor keys, session keys).
CREATE TABLE settings (
    key   text  COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);
