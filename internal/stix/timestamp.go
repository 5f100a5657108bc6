package stix

import (
	"errors"
	"strconv"
	"time"
)

// ErrTimestamp is wrapped by every error ParseTimestamp returns.
var ErrTimestamp = errors.New("invalid STIX timestamp")

// timestampError describes why a string is not a STIX timestamp.
type timestampError struct {
	value  string
	reason string
}

func (e *timestampError) Error() string {
	v := e.value
	if len(v) > 64 {
		v = v[:64] + "…"
	}
	return "invalid STIX timestamp " + strconv.Quote(v) + ": " + e.reason
}

func (e *timestampError) Unwrap() error { return ErrTimestamp }

// ParseTimestamp parses a STIX 2.1 timestamp: the RFC 3339 subset
// YYYY-MM-DDTHH:MM:SS[.s+]Z with an upper-case "T", an upper-case "Z" (UTC)
// and, when present, at least one digit after the decimal point. Digits past
// nanoseconds are accepted and truncated. A leap second (23:59:60) is accepted
// and folded into the first instant of the next day, because time.Time cannot
// represent it. The result is always in UTC.
//
// The parser works on fixed byte positions and does not allocate on success,
// because imports call it several times for each of tens of thousands of
// objects.
func ParseTimestamp(s string) (time.Time, error) {
	sec, nsec, reason := parseTimestamp(s)
	if reason != "" {
		return time.Time{}, &timestampError{value: s, reason: reason}
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

// parseTimestamp returns Unix seconds and nanoseconds, or a reason why s is
// not a STIX timestamp. It also reports how many fraction digits s carries
// through fractionDigits, which validation needs for the millisecond rule.
func parseTimestamp(s string) (sec int64, nsec int, reason string) {
	sec, nsec, _, reason = parseTimestampDigits(s)
	return sec, nsec, reason
}

func parseTimestampDigits(s string) (sec int64, nsec int, fracDigits int, reason string) {
	// YYYY-MM-DDTHH:MM:SS is 19 bytes; the shortest form adds "Z".
	if len(s) < 20 {
		return 0, 0, 0, "too short for YYYY-MM-DDTHH:MM:SSZ"
	}
	if s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return 0, 0, 0, "separators must be YYYY-MM-DDTHH:MM:SS"
	}
	if s[10] != 'T' {
		return 0, 0, 0, `date and time must be separated by an upper-case "T"`
	}
	year, ok1 := parseDigits4(s[0:4])
	month, ok2 := parseDigits2(s[5:7])
	day, ok3 := parseDigits2(s[8:10])
	hour, ok4 := parseDigits2(s[11:13])
	minute, ok5 := parseDigits2(s[14:16])
	second, ok6 := parseDigits2(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, 0, 0, "date and time fields must be decimal digits"
	}
	if month < 1 || month > 12 {
		return 0, 0, 0, "month out of range"
	}
	if day < 1 || day > daysInMonth(year, month) {
		return 0, 0, 0, "day out of range for the month"
	}
	if hour > 23 {
		return 0, 0, 0, "hour out of range"
	}
	if minute > 59 {
		return 0, 0, 0, "minute out of range"
	}
	if second > 60 || (second == 60 && (hour != 23 || minute != 59)) {
		return 0, 0, 0, "second out of range"
	}
	rest := s[19:]
	if rest[0] == '.' {
		i := 1
		scale := 100000000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if scale > 0 {
				nsec += int(rest[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		fracDigits = i - 1
		if fracDigits == 0 {
			return 0, 0, 0, "a decimal point must be followed by at least one digit"
		}
		rest = rest[i:]
	}
	if rest != "Z" {
		if len(rest) > 0 && (rest[0] == '+' || rest[0] == '-' || rest[0] == 'z') {
			return 0, 0, 0, `the time zone must be UTC written as an upper-case "Z"`
		}
		if rest == "" {
			return 0, 0, 0, `missing the "Z" (UTC) designator`
		}
		return 0, 0, 0, `unexpected characters before or after the "Z" designator`
	}
	days := daysFromCivil(year, month, day)
	sec = days*86400 + int64(hour)*3600 + int64(minute)*60 + int64(second)
	return sec, nsec, fracDigits, ""
}

func parseDigits2(s string) (int, bool) {
	a, b := s[0]-'0', s[1]-'0'
	if a > 9 || b > 9 {
		return 0, false
	}
	return int(a)*10 + int(b), true
}

func parseDigits4(s string) (int, bool) {
	hi, ok1 := parseDigits2(s[0:2])
	lo, ok2 := parseDigits2(s[2:4])
	return hi*100 + lo, ok1 && ok2
}

func isLeapYear(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(year, month int) int {
	switch month {
	case 2:
		if isLeapYear(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// FormatTimestamp formats t in UTC as a STIX timestamp. It always writes at
// least millisecond precision (three fraction digits, as STIX requires for
// created and modified) and writes six or nine digits only when t carries
// microseconds or nanoseconds that three digits would lose. Years outside
// 0000–9999 cannot be written in the STIX format; they are clamped to the
// nearest representable instant.
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
	if y := t.Year(); y < 0 {
		t = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	} else if y > 9999 {
		t = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	}
	var b [30]byte
	buf := b[:0]
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	buf = appendDigits4(buf, year)
	buf = append(buf, '-')
	buf = appendDigits2(buf, int(month))
	buf = append(buf, '-')
	buf = appendDigits2(buf, day)
	buf = append(buf, 'T')
	buf = appendDigits2(buf, hour)
	buf = append(buf, ':')
	buf = appendDigits2(buf, minute)
	buf = append(buf, ':')
	buf = appendDigits2(buf, second)
	buf = append(buf, '.')
	ns := t.Nanosecond()
	digits := 3
	switch {
	case ns%1000000 == 0:
		digits = 3
	case ns%1000 == 0:
		digits = 6
	default:
		digits = 9
	}
	div := 100000000
	for i := 0; i < digits; i++ {
		buf = append(buf, byte('0'+ns/div%10))
		div /= 10
	}
	buf = append(buf, 'Z')
	return string(buf)
}

func appendDigits2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10%10), byte('0'+v%10))
}

func appendDigits4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
