package supplychain

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// AssetType is the STIX type of assets. It is declared as a new SDO by the
// extension definition ExtensionID, which mamori stores too.
const AssetType = "x-mamori-asset"

// Fixed identifiers of what mamori declares.
const (
	// ExtensionID declares AssetType.
	ExtensionID = "extension-definition--c169703c-6156-43fe-b990-565c84cc7f3c"
	// IdentityID is mamori itself, the author of the extension definition.
	IdentityID = "identity--66aaa2fa-7444-46d6-a2ce-63657e0da48b"
	// extensionTime is created and modified of both: a fixed time, so
	// storing them again changes nothing.
	extensionTime = "2026-11-01T00:00:00.000Z"
)

// assetNamespace derives asset ids from owner and name (UUIDv5).
var assetNamespace = uuid.MustParse("f04d369a-2b33-483f-8489-ce10f7f944a6")

// CPSF component kinds: the six constituent elements of the Cyber/Physical
// Security Framework.
const (
	KindOrganization = "organization"
	KindPeople       = "people"
	KindComponent    = "component" // things: hardware and software
	KindData         = "data"
	KindProcedure    = "procedure"
	KindSystem       = "system"
)

// Kinds lists the CPSF component kinds.
var Kinds = []string{KindOrganization, KindPeople, KindComponent, KindData, KindProcedure, KindSystem}

// ParseKind reads a CPSF component kind, accepting common other words
// ("organisation", "person", "things", "hardware", "software", "procedures").
func ParseKind(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", KindComponent, "components", "thing", "things", "hardware", "software", "device", "mono":
		return KindComponent, nil
	case KindOrganization, "organisation", "org", "soshiki":
		return KindOrganization, nil
	case KindPeople, "person", "hito":
		return KindPeople, nil
	case KindData, "deta":
		return KindData, nil
	case KindProcedure, "procedures", "process", "tetsuzuki":
		return KindProcedure, nil
	case KindSystem, "systems", "shisutemu":
		return KindSystem, nil
	}
	return "", fmt.Errorf("CPSF component kind %q: want one of %s", s, strings.Join(Kinds, ", "))
}

// CPSF layers.
const (
	Layer1 = 1 // connections between companies
	Layer2 = 2 // between physical and cyber space: sensors, controllers
	Layer3 = 3 // within cyber space: data
)

// LayerName describes a CPSF layer.
func LayerName(l int) string {
	switch l {
	case Layer1:
		return "1: connections between companies"
	case Layer2:
		return "2: physical–cyber interface"
	case Layer3:
		return "3: cyber space (data)"
	}
	return "unspecified"
}

// Criticalities, lowest first.
var Criticalities = []string{"low", "medium", "high", "critical"}

// ParseCriticality reads a criticality ("" is medium).
func ParseCriticality(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "medium", nil
	}
	if slices.Contains(Criticalities, s) {
		return s, nil
	}
	return "", fmt.Errorf("criticality %q: want one of %s", s, strings.Join(Criticalities, ", "))
}

// Asset is something an organisation protects, placed on the CPSF model.
type Asset struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Owner is the organisation that owns the asset (free text; it may be
	// a plant or a subsidiary rather than a mamori organisation).
	Owner       string   `json:"owner,omitempty"`
	Kind        string   `json:"cpsf_component"`
	Layer       int      `json:"cpsf_layer,omitempty"`
	Criticality string   `json:"criticality"`
	Tags        []string `json:"tags,omitempty"`
	// Suppliers are the organisations that supply the asset.
	Suppliers []string  `json:"suppliers,omitempty"`
	Created   time.Time `json:"created"`
	Modified  time.Time `json:"modified"`
	// Access is the stored object's distribution (not part of the object).
	Access store.Access `json:"-"`
}

// Validate normalises and checks an asset.
func (a *Asset) Validate() error {
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		return errors.New("an asset needs a name")
	}
	if len(a.Name) > 250 {
		return errors.New("asset name longer than 250 characters")
	}
	var err error
	if a.Kind, err = ParseKind(a.Kind); err != nil {
		return err
	}
	if a.Layer < 0 || a.Layer > 3 {
		return fmt.Errorf("CPSF layer %d: want 1, 2 or 3", a.Layer)
	}
	if a.Criticality, err = ParseCriticality(a.Criticality); err != nil {
		return err
	}
	a.Tags = cleanList(a.Tags)
	a.Suppliers = cleanList(a.Suppliers)
	return nil
}

func cleanList(l []string) []string {
	var out []string
	for _, s := range l {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// AssetID returns the id of the asset an organisation (its mamori id, ""
// for the instance) names so: the same name gives the same id, so adding
// it again writes a new version.
func AssetID(ownerOrg, name string) string {
	return AssetType + "--" + uuid.NewSHA1(assetNamespace, []byte(ownerOrg+"\x00"+strings.ToLower(strings.TrimSpace(name)))).String()
}

// STIX returns the asset as a STIX object.
func (a *Asset) STIX(createdBy string, revoked bool) map[string]any {
	o := map[string]any{
		"type": AssetType, "spec_version": "2.1", "id": a.ID,
		"created": stix.FormatTimestamp(a.Created), "modified": stix.FormatTimestamp(a.Modified),
		"name": a.Name, "cpsf_component": a.Kind, "criticality": a.Criticality,
		"extensions": map[string]any{ExtensionID: map[string]any{"extension_type": "new-sdo"}},
	}
	if createdBy != "" {
		o["created_by_ref"] = createdBy
	}
	if a.Description != "" {
		o["description"] = a.Description
	}
	if a.Owner != "" {
		o["owner_organization"] = a.Owner
	}
	if a.Layer > 0 {
		o["cpsf_layer"] = a.Layer
	}
	if len(a.Tags) > 0 {
		o["labels"] = a.Tags
	}
	if len(a.Suppliers) > 0 {
		o["suppliers"] = a.Suppliers
	}
	if revoked {
		o["revoked"] = true
	}
	return o
}

// assetFromRecord reads a stored asset.
func assetFromRecord(rec *store.Record) (Asset, error) {
	var o struct {
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Owner       string   `json:"owner_organization"`
		Kind        string   `json:"cpsf_component"`
		Layer       int      `json:"cpsf_layer"`
		Criticality string   `json:"criticality"`
		Labels      []string `json:"labels"`
		Suppliers   []string `json:"suppliers"`
		Created     string   `json:"created"`
		Modified    string   `json:"modified"`
	}
	if err := json.Unmarshal(rec.Raw, &o); err != nil {
		return Asset{}, fmt.Errorf("asset %s: %w", rec.ID, err)
	}
	a := Asset{ID: o.ID, Name: o.Name, Description: o.Description, Owner: o.Owner, Kind: o.Kind, Layer: o.Layer,
		Criticality: o.Criticality, Tags: o.Labels, Suppliers: o.Suppliers, Access: rec.Access}
	a.Created, _ = stix.ParseTimestamp(o.Created)
	a.Modified, _ = stix.ParseTimestamp(o.Modified)
	if a.Criticality == "" {
		a.Criticality = "medium"
	}
	return a, nil
}

// definitions returns the identity of mamori and the extension definition
// declaring AssetType.
func definitions() [][]byte {
	ident := map[string]any{"type": "identity", "spec_version": "2.1", "id": IdentityID, "created": extensionTime, "modified": extensionTime,
		"name": "mamori", "identity_class": "system", "description": "The mamori cyber-threat-intelligence platform."}
	ext := map[string]any{"type": "extension-definition", "spec_version": "2.1", "id": ExtensionID, "created": extensionTime, "modified": extensionTime,
		"created_by_ref": IdentityID, "name": "mamori asset", "version": "1.0.0", "extension_types": []string{"new-sdo"},
		"description": "An asset on the Cyber/Physical Security Framework model: CPSF component kind (organization, people, component, data, procedure, system), layer (1, 2, 3), criticality, tags and supplier organisations.",
		"schema":      "https://github.com/mamori-cti/mamori/blob/main/docs/supplychain.md#the-asset-object"}
	a, _ := json.Marshal(ident)
	b, _ := json.Marshal(ext)
	return [][]byte{a, b}
}

// WriteOptions say who writes assets and how far they are distributed.
type WriteOptions struct {
	// Owner is the mamori organisation id that owns the objects ("" for the
	// instance); Identity its STIX identity (created_by_ref).
	Owner, Identity string
	Level           store.Level
	Group           string
	Collection      string
}

func (w WriteOptions) ingest() ingest.Options {
	return ingest.Options{Owner: w.Owner, Level: w.Level, Group: w.Group, Collection: w.Collection, Strict: true}
}

// ensureDefinitions stores the identity and extension definition once.
func (s *Service) ensureDefinitions(ctx context.Context) error {
	s.mu.Lock()
	done := s.defsStored
	s.mu.Unlock()
	if done {
		return nil
	}
	if _, err := s.KB.Get(ctx, ExtensionID, store.GetOptions{}); err == nil {
		s.mu.Lock()
		s.defsStored = true
		s.mu.Unlock()
		return nil
	}
	defs := definitions()
	_, err := s.Importer.Import(ctx, func(emit func(int, []byte) error, _ func(string)) error {
		for i, d := range defs {
			if err := emit(i, d); err != nil {
				return err
			}
		}
		return nil
	}, "mamori", ingest.Options{Level: store.LevelPublic, Strict: true})
	if err != nil {
		return fmt.Errorf("store the asset extension definition: %w", err)
	}
	s.mu.Lock()
	s.defsStored = true
	s.mu.Unlock()
	return nil
}

// RejectedError reports objects the knowledge base refused.
type RejectedError struct{ Rejections []ingest.Rejection }

func (e *RejectedError) Error() string {
	var b strings.Builder
	for i, r := range e.Rejections {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.Violations.Error())
	}
	return "rejected: " + b.String()
}

// PutAssets writes assets (new ones, or new versions of existing ones) as
// STIX objects through the importer, in one transaction.
func (s *Service) PutAssets(ctx context.Context, assets []Asset, w WriteOptions) ([]Asset, error) {
	if err := s.ensureDefinitions(ctx); err != nil {
		return nil, err
	}
	now := s.now()
	raws := make([][]byte, len(assets))
	for i := range assets {
		a := &assets[i]
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("asset %q: %w", a.Name, err)
		}
		if a.ID == "" {
			a.ID = AssetID(w.Owner, a.Name)
		}
		if prev, err := s.KB.Get(ctx, a.ID, store.GetOptions{}); err == nil {
			old, _ := assetFromRecord(prev)
			a.Created = old.Created
			if !now.After(old.Modified) {
				now = old.Modified.Add(time.Millisecond)
			}
		}
		if a.Created.IsZero() {
			a.Created = now
		}
		a.Modified = now
		raw, err := json.Marshal(a.STIX(w.Identity, false))
		if err != nil {
			return nil, err
		}
		raws[i] = raw
	}
	if err := s.importRaw(ctx, raws, "assets", w.ingest()); err != nil {
		return nil, err
	}
	stored := make([]Asset, len(assets))
	for i, a := range assets {
		a.Access = access.Effective(w.Owner, w.Level, w.Group, nil)
		stored[i] = a
	}
	s.noteAssets(stored, false)
	return stored, nil
}

func (s *Service) importRaw(ctx context.Context, raws [][]byte, source string, opts ingest.Options) error {
	var rejs []ingest.Rejection
	opts.OnReject = func(r ingest.Rejection) { rejs = append(rejs, r) }
	_, err := s.Importer.Import(ctx, func(emit func(int, []byte) error, _ func(string)) error {
		for i, r := range raws {
			if err := emit(i, r); err != nil {
				return err
			}
		}
		return nil
	}, source, opts)
	if len(rejs) > 0 {
		return &RejectedError{Rejections: rejs}
	}
	return err
}

// Assets lists the assets a viewer may read (nil: every asset), by name.
func (s *Service) Assets(ctx context.Context, v *store.Viewer) ([]Asset, error) {
	it, err := s.KB.Query(ctx, store.Query{Types: []string{AssetType}, Viewer: v})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Asset
	for it.Next() {
		a, err := assetFromRecord(it.At())
		if err != nil {
			s.Log.Warn("supplychain: unreadable asset", "err", err)
			continue
		}
		out = append(out, a)
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !strings.EqualFold(out[i].Name, out[j].Name) {
			return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ErrAmbiguous reports a name that several visible assets share.
var ErrAmbiguous = errors.New("several assets have that name; use the id")

// Asset finds an asset by id or name among those the viewer may read.
func (s *Service) Asset(ctx context.Context, v *store.Viewer, nameOrID string) (Asset, error) {
	if strings.HasPrefix(nameOrID, AssetType+"--") {
		rec, err := s.KB.Get(ctx, nameOrID, store.GetOptions{Viewer: v})
		if err != nil {
			return Asset{}, fmt.Errorf("asset %s: %w", nameOrID, err)
		}
		if rec.Revoked {
			return Asset{}, fmt.Errorf("asset %s was removed: %w", nameOrID, store.ErrNotFound)
		}
		return assetFromRecord(rec)
	}
	all, err := s.Assets(ctx, v)
	if err != nil {
		return Asset{}, err
	}
	var found []Asset
	for _, a := range all {
		if strings.EqualFold(a.Name, strings.TrimSpace(nameOrID)) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return Asset{}, fmt.Errorf("no asset %q: %w", nameOrID, store.ErrNotFound)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, a := range found {
		ids[i] = a.ID
	}
	return Asset{}, fmt.Errorf("%q: %w (%s)", nameOrID, ErrAmbiguous, strings.Join(ids, ", "))
}

// RemoveAsset revokes an asset (a new version with revoked set, kept with
// the same distribution) and deletes its SBOMs, findings and VEX statements.
func (s *Service) RemoveAsset(ctx context.Context, a Asset, identity string) error {
	a.Modified = s.now()
	rec, err := s.KB.Get(ctx, a.ID, store.GetOptions{})
	if err != nil {
		return err
	}
	old, _ := assetFromRecord(rec)
	if !a.Modified.After(old.Modified) {
		a.Modified = old.Modified.Add(time.Millisecond)
	}
	var createdBy string
	var m map[string]any
	if json.Unmarshal(rec.Raw, &m) == nil {
		createdBy, _ = m["created_by_ref"].(string)
	}
	if createdBy == "" {
		createdBy = identity
	}
	raw, err := json.Marshal(a.STIX(createdBy, true))
	if err != nil {
		return err
	}
	acc := rec.Access
	if err := s.importRaw(ctx, [][]byte{raw}, "assets", ingest.Options{Owner: acc.Owner, Level: acc.Level, Group: acc.Group, Strict: true}); err != nil {
		return err
	}
	s.noteAssets([]Asset{a}, true)
	return s.Inv.DeleteAssetInventory(ctx, a.ID)
}

// CSVError is a row of an asset CSV file that was not imported.
type CSVError struct {
	Line int
	Err  error
}

func (e CSVError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// ReadAssetsCSV reads assets from CSV with a header row. Columns (any
// order, case-insensitive): name (required), owner, kind (or
// cpsf_component), layer (or cpsf_layer), criticality, tags, suppliers,
// description. Tags and suppliers are separated by ";" or "|". Rows that
// cannot be read are returned as CSVErrors and skipped.
func ReadAssetsCSV(r io.Reader) ([]Asset, []CSVError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "cpsf_component", "component", "cpsf_kind":
			h = "kind"
		case "cpsf_layer":
			h = "layer"
		case "supplier":
			h = "suppliers"
		case "tag", "labels":
			h = "tags"
		case "owner_organization", "organization", "organisation":
			h = "owner"
		}
		col[h] = i
	}
	if _, ok := col["name"]; !ok {
		return nil, nil, errors.New("header: no name column")
	}
	var out []Asset
	var bad []CSVError
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, CSVError{Line: pe.Line, Err: pe.Err})
				continue
			}
			return out, bad, err
		}
		get := func(k string) string {
			if i, ok := col[k]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		a := Asset{Name: get("name"), Owner: get("owner"), Kind: get("kind"), Criticality: get("criticality"), Description: get("description"),
			Tags: splitList(get("tags")), Suppliers: splitList(get("suppliers"))}
		if l := get("layer"); l != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(l), "layer"))
			if err != nil {
				bad = append(bad, CSVError{Line: line, Err: fmt.Errorf("layer %q: want 1, 2 or 3", l)})
				continue
			}
			a.Layer = n
		}
		if err := a.Validate(); err != nil {
			bad = append(bad, CSVError{Line: line, Err: err})
			continue
		}
		out = append(out, a)
	}
	return out, bad, nil
}

func splitList(s string) []string {
	return cleanList(strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' }))
}
