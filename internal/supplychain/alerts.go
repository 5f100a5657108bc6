package supplychain

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
	"github.com/mamori-cti/mamori/internal/supplychain/vulndb"
)

// AlertView is an alert with the name of its asset, as readers see it.
type AlertView struct {
	inventory.Alert
	AssetAccess store.Access `json:"-"`
}

// decorate fills in asset names (trusted view).
func (s *Service) decorate(ctx context.Context, as []inventory.Alert) []AlertView {
	assets, _ := s.assetsByID(ctx)
	out := make([]AlertView, len(as))
	for i, a := range as {
		out[i].Alert = a
		if x, ok := assets[a.AssetID]; ok {
			out[i].AssetName = x.Name
			out[i].AssetAccess = x.Access
		}
	}
	return out
}

// visible reports whether a viewer may read an alert: its asset and every
// object it reveals.
func visible(v *store.Viewer, a AlertView) bool {
	if !v.CanRead(a.AssetAccess) {
		return false
	}
	for _, acc := range a.TriggerAccess {
		if !v.CanRead(acc) {
			return false
		}
	}
	return true
}

// Alerts lists the alerts a viewer may read (nil: every alert), newest
// first, or oldest first after f.AfterID.
func (s *Service) Alerts(ctx context.Context, v *store.Viewer, f inventory.AlertFilter) ([]AlertView, error) {
	assets, err := s.Assets(ctx, v)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Asset, len(assets))
	f.AssetIDs = make([]string, 0, len(assets))
	for _, a := range assets {
		byID[a.ID] = a
		f.AssetIDs = append(f.AssetIDs, a.ID)
	}
	as, err := s.Inv.ExposureAlerts(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]AlertView, 0, len(as))
	for _, a := range as {
		av := AlertView{Alert: a}
		x := byID[a.AssetID]
		av.AssetName, av.AssetAccess = x.Name, x.Access
		if v != nil && !visible(v, av) {
			continue
		}
		out = append(out, av)
	}
	return out, nil
}

// Start prepares the service for continuous evaluation: it loads the
// knowledge base's vulnerability objects into the index, reads the assets
// into its cache, starts the webhook (when set) and subscribes to
// bus.SubjectObjectsStored. Stop it with the returned subscription's
// Unsubscribe (and Webhook.Close).
func (s *Service) Start(ctx context.Context, b bus.Bus) (bus.Subscription, error) {
	if _, err := s.LoadKB(ctx); err != nil {
		return nil, fmt.Errorf("supplychain: read vulnerability objects: %w", err)
	}
	if _, err := s.assetsByID(ctx); err != nil {
		return nil, fmt.Errorf("supplychain: read assets: %w", err)
	}
	if s.Webhook != nil {
		s.Webhook.Start()
	}
	return s.Subscribe(b)
}

// Subscribe starts re-evaluating on every bus.SubjectObjectsStored message.
// Messages are handled in the "supplychain" group, so several processes
// share them.
func (s *Service) Subscribe(b bus.Bus) (bus.Subscription, error) {
	return b.Subscribe(bus.SubjectObjectsStored, "supplychain", func(ctx context.Context, m bus.Message) error {
		var msg bus.ObjectsStored
		if err := json.Unmarshal(m.Data, &msg); err != nil {
			s.Log.Warn("supplychain: unreadable bus message", "err", err)
			return nil // redelivery would not help
		}
		_, err := s.HandleStored(ctx, msg)
		return err
	})
}

// indexViewer selects the knowledge-base vulnerability objects that feed
// the shared index: those every organisation of the instance may read.
// Findings are shared by everyone who may read an asset, so an advisory
// distributed more narrowly must not create them; such objects still count
// as links for the readers who see them.
var indexViewer = &store.Viewer{MinLevel: store.LevelCommunity}

// LoadKB adds the vulnerability objects of the knowledge base that every
// organisation may read to the index (and their KEV marks).
func (s *Service) LoadKB(ctx context.Context) (int, error) {
	it, err := s.KB.Query(ctx, store.Query{Types: []string{"vulnerability"}, Viewer: indexViewer})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var advs []*vulndb.Advisory
	for it.Next() {
		a, kevs, err := vulndb.FromSTIX(it.At().Raw)
		if err != nil {
			continue
		}
		advs = append(advs, a)
		if len(kevs) > 0 {
			s.DB.AddKEV(kevs)
		}
	}
	if err := it.Err(); err != nil {
		return 0, err
	}
	s.DB.AddAll(advs)
	return len(advs), nil
}

// HandleStored re-evaluates what newly stored objects change:
//
//   - a vulnerability object: its advisory enters the index; the components
//     of the packages it names, and those already affected by one of its
//     ids, are re-evaluated (a new finding, or one that became KEV, alerts);
//   - a relationship, sighting, report or other object referring to a
//     vulnerability: the findings of that vulnerability get a "linked" alert;
//   - an asset: the asset cache is refreshed.
//
// It returns the number of alerts stored. It is idempotent: alerts have
// keys, and a redelivered message adds none.
func (s *Service) HandleStored(ctx context.Context, msg bus.ObjectsStored) (int, error) {
	total := 0
	var keys, vulnIDs []string
	for _, it := range msg.Objects {
		switch it.Type {
		case AssetType:
			s.refreshAsset(ctx, it.ID)
		case "vulnerability":
			rec, err := s.KB.Get(ctx, it.ID, store.GetOptions{Viewer: indexViewer})
			if err != nil {
				continue // absent, or not shared with the whole instance
			}
			a, kevs, err := vulndb.FromSTIX(rec.Raw)
			if err != nil {
				continue
			}
			keys = appendUniq(keys, s.DB.Add(a)...)
			if len(kevs) > 0 {
				s.DB.AddKEV(kevs)
			}
			vulnIDs = appendUniq(vulnIDs, a.IDs()...)
		case "relationship", "sighting", "report", "note", "opinion", "grouping", "campaign", "threat-actor", "intrusion-set", "malware", "tool", "infrastructure":
			n, err := s.handleLink(ctx, it.ID)
			if err != nil {
				return total, err
			}
			total += n
		}
	}
	if len(vulnIDs) > 0 || len(keys) > 0 {
		n, err := s.reevaluateFor(ctx, keys, vulnIDs, &Trigger{ID: firstOr(msg.Source, "bus")})
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func firstOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// reevaluateFor re-evaluates the components of the given package keys and
// those with findings for one of ids.
func (s *Service) reevaluateFor(ctx context.Context, keys, ids []string, t *Trigger) (int, error) {
	keys = appendUniq(keys, s.DB.KeysFor(ids)...)
	var comps []inventory.Component
	seen := map[int64]bool{}
	add := func(c inventory.Component) error {
		if !seen[c.ID] {
			seen[c.ID] = true
			comps = append(comps, c)
		}
		return nil
	}
	if len(keys) > 0 {
		if err := s.Inv.SBOMComponentsByKey(ctx, keys, add); err != nil {
			return 0, err
		}
	}
	if len(ids) > 0 {
		fs, err := s.Inv.ExposureFindings(ctx, inventory.FindingFilter{VulnIDs: ids})
		if err != nil {
			return 0, err
		}
		byAsset := map[string]map[int64]bool{}
		for _, f := range fs {
			if seen[f.ComponentID] {
				continue
			}
			if byAsset[f.AssetID] == nil {
				byAsset[f.AssetID] = map[int64]bool{}
			}
			byAsset[f.AssetID][f.ComponentID] = true
		}
		for a, want := range byAsset {
			err := s.Inv.SBOMComponents(ctx, a, func(c inventory.Component) error {
				if want[c.ID] {
					return add(c)
				}
				return nil
			})
			if err != nil {
				return 0, err
			}
		}
	}
	_, n, err := s.evaluate(ctx, comps, true, t)
	return n, err
}

// handleLink raises "linked" alerts for an object that links a
// vulnerability to something: a relationship (the other end is the link),
// a sighting of it, a report or other object referring to it.
func (s *Service) handleLink(ctx context.Context, id string) (int, error) {
	rec, err := s.KB.Get(ctx, id, store.GetOptions{})
	if err != nil {
		return 0, nil
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Raw, &m); err != nil {
		return 0, nil
	}
	var refs []string
	for k, v := range m {
		if k == "created_by_ref" || k == "object_marking_refs" {
			continue
		}
		switch x := v.(type) {
		case string:
			if strings.HasSuffix(k, "_ref") {
				refs = append(refs, x)
			}
		case []any:
			if strings.HasSuffix(k, "_refs") {
				for _, e := range x {
					if s, ok := e.(string); ok {
						refs = append(refs, s)
					}
				}
			}
		}
	}
	var vulnRecs []*store.Record
	var others []string
	for _, r := range refs {
		if strings.HasPrefix(r, "vulnerability--") {
			if vr, err := s.KB.Get(ctx, r, store.GetOptions{}); err == nil {
				vulnRecs = append(vulnRecs, vr)
			}
		} else {
			others = append(others, r)
		}
	}
	if len(vulnRecs) == 0 {
		return 0, nil
	}
	t := &Trigger{ID: rec.ID, Access: []store.Access{rec.Access}}
	switch rec.Type {
	case "relationship":
		rt, _ := m["relationship_type"].(string)
		for _, o := range others {
			orec, err := s.KB.Get(ctx, o, store.GetOptions{})
			if err != nil {
				continue
			}
			var end struct {
				Name string `json:"name"`
			}
			json.Unmarshal(orec.Raw, &end)
			t.Links = append(t.Links, Link{Type: orec.Type, ID: orec.ID, Name: end.Name, Relationship: rt})
			t.Access = append(t.Access, orec.Access)
		}
	default:
		name, _ := m["name"].(string)
		t.Links = append(t.Links, Link{Type: rec.Type, ID: rec.ID, Name: name})
	}
	if len(t.Links) == 0 {
		return 0, nil
	}
	for _, vr := range vulnRecs {
		t.Access = append(t.Access, vr.Access)
		a, _, err := vulndb.FromSTIX(vr.Raw)
		if err != nil {
			continue
		}
		t.Vulns = appendUniq(t.Vulns, a.IDs()...)
	}
	fs, err := s.Inv.ExposureFindings(ctx, inventory.FindingFilter{VulnIDs: t.Vulns})
	if err != nil || len(fs) == 0 {
		return 0, err
	}
	ids := make([]int64, 0, len(fs))
	for _, f := range fs {
		ids = append(ids, f.ComponentID)
	}
	return s.reevaluateComponents(ctx, ids, true, t)
}

// LoadAdvisories reads advisory sources (see vulndb.DB.LoadPath) into the
// index and re-evaluates the components of the packages they name, and
// those affected by the KEV entries they add, raising alerts.
func (s *Service) LoadAdvisories(ctx context.Context, path string) (vulndb.LoadReport, int, error) {
	rep, err := s.DB.LoadPath(path)
	if err != nil {
		return rep, 0, err
	}
	n, err := s.reevaluateFor(ctx, rep.Keys, rep.KEVIDs, &Trigger{ID: path})
	if err != nil {
		return rep, n, fmt.Errorf("re-evaluate: %w", err)
	}
	return rep, n, nil
}

// LoadAdvisoryDocument is LoadAdvisories for one document read from r
// (an upload); name is used in warnings.
func (s *Service) LoadAdvisoryDocument(ctx context.Context, r io.Reader, name string) (vulndb.LoadReport, int, error) {
	rep, err := s.DB.Load(r, name)
	if err != nil {
		return rep, 0, err
	}
	n, err := s.reevaluateFor(ctx, rep.Keys, rep.KEVIDs, &Trigger{ID: name})
	if err != nil {
		return rep, n, fmt.Errorf("re-evaluate: %w", err)
	}
	return rep, n, nil
}
