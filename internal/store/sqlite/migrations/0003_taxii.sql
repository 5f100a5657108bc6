-- TAXII 2.1 status resources: one row per POST to an objects endpoint. The
-- resource is kept as the JSON the server returned; org is the organisation
-- of the principal that posted it (only that organisation may read it).
CREATE TABLE taxii_status (
    id       TEXT PRIMARY KEY,
    api_root TEXT    NOT NULL,
    org      TEXT    NOT NULL,
    created  INTEGER NOT NULL, -- Unix nanoseconds
    resource BLOB    NOT NULL
);
CREATE INDEX taxii_status_created ON taxii_status (created);

-- Remote TAXII collections pulled on a schedule. config is the remote's
-- settings as JSON, credentials included (the data directory is the trust
-- boundary); checkpoint is the added_after value the next pull starts from;
-- result describes the last sync.
CREATE TABLE taxii_remotes (
    name       TEXT PRIMARY KEY,
    config     BLOB    NOT NULL,
    checkpoint TEXT    NOT NULL DEFAULT '',
    result     BLOB    NOT NULL DEFAULT '',
    created    INTEGER NOT NULL
);

-- TAXII shows date_added with microseconds (its timestamp type), and
-- clients page and resume with added_after set to the last date_added they
-- saw. That is exact only if no two memberships share a microsecond, while
-- the store spaces date_added by nanoseconds. So each new membership gets a
-- date_added at least one microsecond after the previous one (imports write
-- far fewer than a million memberships a second, so this stays within
-- microseconds of the real time), and existing ones are spaced the same way.
UPDATE collection_objects SET added = t.na
FROM (SELECT cseq, rn * 1000 + max(added - rn * 1000) OVER (ORDER BY cseq ROWS UNBOUNDED PRECEDING) AS na
      FROM (SELECT cseq, added, row_number() OVER (ORDER BY cseq) AS rn FROM collection_objects)) AS t
WHERE collection_objects.cseq = t.cseq AND collection_objects.added <> t.na;

CREATE TRIGGER collection_objects_added_us AFTER INSERT ON collection_objects
BEGIN
    UPDATE collection_objects
       SET added = (SELECT p.added + 1000 FROM collection_objects p WHERE p.cseq < NEW.cseq ORDER BY p.cseq DESC LIMIT 1)
     WHERE cseq = NEW.cseq
       AND NEW.added < (SELECT p.added + 1000 FROM collection_objects p WHERE p.cseq < NEW.cseq ORDER BY p.cseq DESC LIMIT 1);
END;
