package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

func testProvenance(t *testing.T, s store.Store) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.AddSources(ctx, []store.SourceRecord{{ObjectID: idA, Source: "feed-1", FirstSeen: t0}, {ObjectID: idA, Source: "feed-2", FirstSeen: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSources(ctx, []store.SourceRecord{{ObjectID: idA, Source: "feed-1", FirstSeen: t0.Add(48 * time.Hour), Count: 2}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Sources(ctx, idA)
	if err != nil || len(got) != 2 {
		t.Fatalf("Sources = %+v, %v", got, err)
	}
	if got[0].Source != "feed-1" || !got[0].FirstSeen.Equal(t0) || !got[0].LastSeen.Equal(t0.Add(48*time.Hour)) || got[0].Count != 3 {
		t.Fatalf("upserted source = %+v", got[0])
	}
}

func testFeeds(t *testing.T, s store.Store) {
	f := store.Feed{Name: "ipsum", URL: "https://example.org/ipsum.txt", Format: "txt", Every: time.Hour, Enabled: true,
		Options: map[string]string{"tlp": "green"}, Stats: map[string]int64{"new": 5}, LastRun: time.Unix(100, 0).UTC()}
	if err := s.PutFeed(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.ETag = `"abc"`
	if err := s.PutFeed(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.Feed(ctx, "ipsum")
	if err != nil || got.ETag != `"abc"` || got.Every != time.Hour || got.Options["tlp"] != "green" || got.Stats["new"] != 5 || !got.LastRun.Equal(f.LastRun) {
		t.Fatalf("Feed = %+v, %v", got, err)
	}
	if list, _ := s.Feeds(ctx); len(list) != 1 {
		t.Fatalf("Feeds = %+v", list)
	}
	if err := s.DeleteFeed(ctx, "ipsum"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Feed(ctx, "ipsum"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted feed: %v", err)
	}
}
