-- Supply-chain exposure (package supplychain/inventory): the SBOMs of assets,
-- their components, findings, VEX statements and alerts. Assets themselves
-- are STIX objects (x-mamori-asset) in the objects table; rows here refer to
-- them by STIX id. Components, findings, statements and alerts are kept as
-- JSON documents (doc), with the columns queries need beside them.
CREATE TABLE sc_sboms (
    asset_id   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    format     TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    imported   INTEGER NOT NULL, -- Unix nanoseconds
    components INTEGER NOT NULL,
    warnings   INTEGER NOT NULL,
    PRIMARY KEY (asset_id, name)
) WITHOUT ROWID;

CREATE TABLE sc_components (
    id       INTEGER PRIMARY KEY,
    asset_id TEXT NOT NULL,
    sbom     TEXT NOT NULL,
    doc      TEXT NOT NULL
);
CREATE INDEX sc_components_asset ON sc_components (asset_id, sbom);

-- The lookup keys of each component: its package key and CPE products, so
-- that a new advisory for one package finds its components.
CREATE TABLE sc_component_keys (
    key          TEXT    NOT NULL,
    component_id INTEGER NOT NULL,
    PRIMARY KEY (key, component_id)
) WITHOUT ROWID;
CREATE INDEX sc_component_keys_component ON sc_component_keys (component_id);

CREATE TABLE sc_findings (
    component_id INTEGER NOT NULL,
    vuln_id      TEXT    NOT NULL,
    asset_id     TEXT    NOT NULL,
    first_seen   INTEGER NOT NULL, -- Unix nanoseconds
    doc          TEXT    NOT NULL,
    PRIMARY KEY (component_id, vuln_id)
) WITHOUT ROWID;
CREATE INDEX sc_findings_asset ON sc_findings (asset_id);

-- Every id (primary and aliases) of each finding.
CREATE TABLE sc_finding_ids (
    id           TEXT    NOT NULL, -- upper case
    component_id INTEGER NOT NULL,
    vuln_id      TEXT    NOT NULL,
    PRIMARY KEY (id, component_id, vuln_id)
) WITHOUT ROWID;
CREATE INDEX sc_finding_ids_component ON sc_finding_ids (component_id);

CREATE TABLE sc_vex (
    asset_id TEXT NOT NULL, -- '' for every asset
    vuln     TEXT NOT NULL,
    product  TEXT NOT NULL,
    source   TEXT NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (asset_id, vuln, product, source)
) WITHOUT ROWID;

CREATE TABLE sc_alerts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    key      TEXT    NOT NULL UNIQUE,
    created  INTEGER NOT NULL, -- Unix nanoseconds
    asset_id TEXT    NOT NULL,
    doc      TEXT    NOT NULL
);
CREATE INDEX sc_alerts_asset ON sc_alerts (asset_id, id);
