-- Detection (package detect): the retro-hunt history of observed values,
-- the counts behind sighting objects, false-positive reports and scores.

-- Organisations by a small number, so that history rows stay short.
CREATE TABLE detect_orgs (
    n   INTEGER PRIMARY KEY,
    org TEXT NOT NULL UNIQUE
);

-- Values observed in telemetry: key is a history key (an address, or a
-- hash of a value; see match.HistoryKey), day is days since 1970-01-01
-- UTC. Addresses sort as numbers, so a CIDR block is a key range.
CREATE TABLE detect_history (
    key   BLOB    NOT NULL,
    org   INTEGER NOT NULL,
    day   INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, org, day)
) WITHOUT ROWID;
CREATE INDEX detect_history_day ON detect_history (day, org);

-- One row per sighting object (indicator, organisation, day, live or
-- retrospective): the totals each new version of the sighting carries.
CREATE TABLE detect_sightings (
    id         TEXT PRIMARY KEY,
    indicator  TEXT    NOT NULL,
    org        TEXT    NOT NULL,
    day        INTEGER NOT NULL,
    retro      INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    first_seen INTEGER NOT NULL, -- Unix nanoseconds
    last_seen  INTEGER NOT NULL,
    created    INTEGER NOT NULL,
    modified   INTEGER NOT NULL
);
CREATE INDEX detect_sightings_indicator ON detect_sightings (indicator);

CREATE TABLE detect_false_positives (
    indicator TEXT    NOT NULL,
    org       TEXT    NOT NULL,
    user      TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX detect_false_positives_indicator ON detect_false_positives (indicator, at);

CREATE TABLE detect_scores (
    indicator TEXT PRIMARY KEY,
    score     REAL    NOT NULL,
    computed  INTEGER NOT NULL,
    detail    BLOB    NOT NULL
) WITHOUT ROWID;
CREATE INDEX detect_scores_score ON detect_scores (score);
