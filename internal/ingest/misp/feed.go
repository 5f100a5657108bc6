package misp

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// FeedEntry is one event listed in a MISP feed's manifest.json.
type FeedEntry struct {
	UUID      string
	Info      string
	Timestamp int64 // the event's last change, seconds since the epoch
}

// File is the name of the event's file in the feed: <uuid>.json.
func (e FeedEntry) File() string { return e.UUID + ".json" }

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ReadManifest reads a MISP feed manifest (an object keyed by event uuid)
// and returns its events, oldest change first. Keys that are not UUIDs are
// refused: they name files to fetch.
func ReadManifest(r io.Reader) ([]FeedEntry, error) {
	var m map[string]struct {
		Info      string     `json:"info"`
		Timestamp flexString `json:"timestamp"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 256<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	out := make([]FeedEntry, 0, len(m))
	for k, v := range m {
		if !uuidRE.MatchString(k) {
			return nil, fmt.Errorf("manifest.json: key %q is not an event uuid", k)
		}
		ts, _ := strconv.ParseInt(strings.TrimSpace(string(v.Timestamp)), 10, 64)
		out = append(out, FeedEntry{UUID: strings.ToLower(k), Info: v.Info, Timestamp: ts})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Timestamp != out[j].Timestamp {
			return out[i].Timestamp < out[j].Timestamp
		}
		return out[i].UUID < out[j].UUID
	})
	return out, nil
}
