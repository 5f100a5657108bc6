package stix

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseTimestampValid(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2016-01-20T12:31:12.123Z", time.Date(2016, 1, 20, 12, 31, 12, 123000000, time.UTC)},
		{"2016-01-20T12:31:12Z", time.Date(2016, 1, 20, 12, 31, 12, 0, time.UTC)},
		{"2016-01-20T12:31:12.1Z", time.Date(2016, 1, 20, 12, 31, 12, 100000000, time.UTC)},
		{"2016-01-20T12:31:12.123456789Z", time.Date(2016, 1, 20, 12, 31, 12, 123456789, time.UTC)},
		// Digits past nanoseconds are truncated.
		{"2016-01-20T12:31:12.1234567891234Z", time.Date(2016, 1, 20, 12, 31, 12, 123456789, time.UTC)},
		{"2000-02-29T00:00:00.000Z", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"1970-01-01T00:00:00Z", time.Unix(0, 0).UTC()},
		{"1969-12-31T23:59:59.999Z", time.Date(1969, 12, 31, 23, 59, 59, 999000000, time.UTC)},
		{"0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"9999-12-31T23:59:59.999999999Z", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		// A leap second folds into the next day.
		{"2016-12-31T23:59:60Z", time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in)
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseTimestampInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"2016-01-20",
		"2016-01-20T12:31:12",       // no Z
		"2016-01-20T12:31:12.123",   // no Z
		"2016-01-20T12:31:12+00:00", // offset instead of Z
		"2016-01-20T12:31:12.123+01:00",
		"2016-01-20T12:31:12z",  // lower-case z
		"2016-01-20t12:31:12Z",  // lower-case t
		"2016-01-20 12:31:12Z",  // space separator
		"2016-01-20T12:31:12.Z", // decimal point without digits
		"2016-01-20T12:31:12.12aZ",
		"2016-01-20T12:31:12ZZ",
		"2016-13-20T12:31:12Z",
		"2016-00-20T12:31:12Z",
		"2016-01-00T12:31:12Z",
		"2015-02-29T12:31:12Z", // not a leap year
		"1900-02-29T12:31:12Z", // not a leap year
		"2016-04-31T12:31:12Z",
		"2016-01-20T24:00:00Z",
		"2016-01-20T12:60:12Z",
		"2016-01-20T12:31:61Z",
		"2016-01-20T12:31:60Z", // leap second not at the end of a day
		"16-01-20T12:31:12Z",
		"2016/01/20T12:31:12Z",
		"+2016-01-20T12:31:12Z",
		"２０１６-01-20T12:31:12Z",
	} {
		_, err := ParseTimestamp(in)
		if err == nil {
			t.Errorf("ParseTimestamp(%q) succeeded, want an error", in)
			continue
		}
		if !errors.Is(err, ErrTimestamp) {
			t.Errorf("ParseTimestamp(%q) error %v does not wrap ErrTimestamp", in, err)
		}
	}
}

// TestParseTimestampMatchesTimeParse cross-checks the hand-written parser
// against time.Parse on random valid and near-valid timestamps.
func TestParseTimestampMatchesTimeParse(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		sec := r.Int64N(253402300800) // years 1970–9999
		ns := int64(0)
		switch r.IntN(4) {
		case 1:
			ns = r.Int64N(1000) * 1000000
		case 2:
			ns = r.Int64N(1000000000)
		case 3:
			ns = r.Int64N(1000000) * 1000
		}
		ts := time.Unix(sec, ns).UTC()
		s := ts.Format("2006-01-02T15:04:05.999999999Z")
		got, err := ParseTimestamp(s)
		if err != nil {
			t.Fatalf("ParseTimestamp(%q): %v", s, err)
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("time.Parse(%q): %v", s, err)
		}
		if !got.Equal(want) {
			t.Fatalf("ParseTimestamp(%q) = %v, time.Parse = %v", s, got, want)
		}
		// Mutate one byte: whenever time.Parse rejects the result as a
		// STIX-shaped RFC 3339 value, ParseTimestamp must reject it too.
		b := []byte(s)
		b[r.IntN(len(b))] = "0123456789-:TZ.x"[r.IntN(16)]
		m := string(b)
		_, errOurs := ParseTimestamp(m)
		_, errStd := time.Parse(time.RFC3339Nano, m)
		if errOurs == nil && errStd != nil {
			t.Fatalf("ParseTimestamp(%q) accepted what time.Parse rejects: %v", m, errStd)
		}
	}
}

func TestFormatTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2016, 1, 20, 12, 31, 12, 0, time.UTC), "2016-01-20T12:31:12.000Z"},
		{time.Date(2016, 1, 20, 12, 31, 12, 123000000, time.UTC), "2016-01-20T12:31:12.123Z"},
		{time.Date(2016, 1, 20, 12, 31, 12, 123400000, time.UTC), "2016-01-20T12:31:12.123400Z"},
		{time.Date(2016, 1, 20, 12, 31, 12, 123456000, time.UTC), "2016-01-20T12:31:12.123456Z"},
		{time.Date(2016, 1, 20, 12, 31, 12, 123456789, time.UTC), "2016-01-20T12:31:12.123456789Z"},
		{time.Date(2016, 1, 20, 12, 31, 12, 1, time.UTC), "2016-01-20T12:31:12.000000001Z"},
		{time.Date(2016, 1, 20, 14, 31, 12, 0, time.FixedZone("CEST", 2*3600)), "2016-01-20T12:31:12.000Z"},
		{time.Date(5, 3, 4, 5, 6, 7, 0, time.UTC), "0005-03-04T05:06:07.000Z"},
		{time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), "9999-12-31T23:59:59.999999999Z"},
		{time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), "0000-01-01T00:00:00.000Z"},
	}
	for _, tt := range tests {
		if got := FormatTimestamp(tt.in); got != tt.want {
			t.Errorf("FormatTimestamp(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		in := time.Unix(r.Int64N(253402300800), r.Int64N(1000000000)).UTC()
		s := FormatTimestamp(in)
		out, err := ParseTimestamp(s)
		if err != nil {
			t.Fatalf("ParseTimestamp(FormatTimestamp(%v) = %q): %v", in, s, err)
		}
		if !out.Equal(in) {
			t.Fatalf("round trip of %v gave %v (%q)", in, out, s)
		}
	}
}

func TestParseTimestampDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseTimestamp("2017-05-31T21:30:19.735Z"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseTimestamp allocates %v times per call", allocs)
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2016-01-20T12:31:12.123Z", "2016-12-31T23:59:60Z", "2016-01-20T12:31:12Z", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTimestamp(s)
		if err != nil {
			return
		}
		// Everything accepted is RFC 3339 (leap seconds aside) and round-trips.
		if s[17:19] != "60" {
			want, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatalf("accepted %q, which time.Parse rejects: %v", s, err)
			}
			if want.Truncate(time.Nanosecond) != want || !got.Equal(want) {
				t.Fatalf("ParseTimestamp(%q) = %v, time.Parse = %v", s, got, want)
			}
		}
		again, err := ParseTimestamp(FormatTimestamp(got))
		if err != nil || !again.Equal(got) {
			t.Fatalf("round trip of %q failed: %v %v", s, again, err)
		}
	})
}
