-- TAXII 2.1 status resources: one row per POST to an objects endpoint. The
-- resource is kept as the JSON the server returned; org is the organisation
-- of the principal that posted it (only that organisation may read it).
CREATE TABLE taxii_status (
    id       text   COLLATE "C" PRIMARY KEY,
    api_root text   NOT NULL,
    org      text   NOT NULL,
    created  bigint NOT NULL, -- Unix nanoseconds
    resource bytea  NOT NULL
);
CREATE INDEX taxii_status_created ON taxii_status (created);

-- Remote TAXII collections pulled on a schedule. config is the remote's
-- settings as JSON, credentials included (the database is the trust
-- boundary); checkpoint is the added_after value the next pull starts from;
-- result describes the last sync.
CREATE TABLE taxii_remotes (
    name       text   COLLATE "C" PRIMARY KEY,
    config     bytea  NOT NULL,
    checkpoint text   NOT NULL DEFAULT '',
    result     bytea  NOT NULL DEFAULT '',
    created    bigint NOT NULL
);
