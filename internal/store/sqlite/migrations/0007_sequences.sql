-- Collection memberships get numbers that are never reused, even after the
-- newest ones are removed (a TAXII cursor past a removed membership must not
-- skip the next one). The table is rebuilt with AUTOINCREMENT; its trigger
-- (0003) is recreated.
CREATE TABLE collection_objects_new (
    cseq  INTEGER PRIMARY KEY AUTOINCREMENT,
    coll  TEXT    NOT NULL REFERENCES collections (id),
    seq   INTEGER NOT NULL REFERENCES objects (seq),
    added INTEGER NOT NULL
);
INSERT INTO collection_objects_new (cseq, coll, seq, added) SELECT cseq, coll, seq, added FROM collection_objects;
DROP TABLE collection_objects;
ALTER TABLE collection_objects_new RENAME TO collection_objects;
CREATE UNIQUE INDEX collection_objects_coll_seq ON collection_objects (coll, seq);
CREATE INDEX collection_objects_coll_cseq ON collection_objects (coll, cseq);
CREATE TRIGGER collection_objects_added_us AFTER INSERT ON collection_objects
BEGIN
    UPDATE collection_objects
       SET added = (SELECT p.added + 1000 FROM collection_objects p WHERE p.cseq < NEW.cseq ORDER BY p.cseq DESC LIMIT 1)
     WHERE cseq = NEW.cseq
       AND NEW.added < (SELECT p.added + 1000 FROM collection_objects p WHERE p.cseq < NEW.cseq ORDER BY p.cseq DESC LIMIT 1);
END;

-- Replacing an unversioned object deletes its derived rows by seq.
CREATE INDEX labels_seq ON labels (seq);
CREATE INDEX external_ids_seq ON external_ids (seq);
CREATE INDEX obs_values_seq ON obs_values (seq);
