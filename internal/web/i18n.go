package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

//go:embed i18n/*.json
var i18nFS embed.FS

// Languages are the languages of the interface, the first being the default.
var Languages = []string{"en", "ja"}

var langTags = []language.Tag{language.English, language.Japanese}

var langMatcher = language.NewMatcher(langTags)

// langCookie remembers the language a visitor chose with the switch.
const langCookie = "mamori_lang"

// catalogue is one language's messages, by key.
type catalogue map[string]string

func loadCatalogues() (map[string]catalogue, error) {
	out := map[string]catalogue{}
	for _, lang := range Languages {
		b, err := i18nFS.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		c := catalogue{}
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("web: i18n/%s.json: %w", lang, err)
		}
		out[lang] = c
	}
	return out, nil
}

// negotiate picks the language of a request: the cookie set by the switch,
// else the best match of Accept-Language, else English.
func negotiate(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		for _, l := range Languages {
			if c.Value == l {
				return l
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return Languages[0]
	}
	_, i, conf := langMatcher.Match(tags...)
	if conf == language.No {
		return Languages[0]
	}
	return Languages[i]
}

// Localizer formats messages, numbers and dates in one language.
type Localizer struct {
	Lang    string
	msgs    catalogue
	printer *message.Printer
}

func newLocalizer(lang string, msgs catalogue) *Localizer {
	tag := language.English
	for i, l := range Languages {
		if l == lang {
			tag = langTags[i]
		}
	}
	return &Localizer{Lang: lang, msgs: msgs, printer: message.NewPrinter(tag)}
}

// T returns the message for key with {0}, {1}, … replaced by args, each
// formatted for the language (numbers grouped, times as dates). A key
// missing from the catalogue comes back as itself, which the catalogue
// test prevents.
func (l *Localizer) T(key string, args ...any) string {
	msg, ok := l.msgs[key]
	if !ok {
		return key
	}
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			b.WriteString(msg)
			break
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			b.WriteString(msg)
			break
		}
		n, err := strconv.Atoi(msg[i+1 : i+j])
		b.WriteString(msg[:i])
		if err != nil || n < 0 || n >= len(args) {
			b.WriteString(msg[i : i+j+1])
		} else {
			b.WriteString(l.format(args[n]))
		}
		msg = msg[i+j+1:]
	}
	return b.String()
}

// TN picks key+".one" when n is 1 and the language has that form, else key.
func (l *Localizer) TN(key string, n any, args ...any) string {
	if isOne(n) {
		if _, ok := l.msgs[key+".one"]; ok {
			key += ".one"
		}
	}
	return l.T(key, append([]any{n}, args...)...)
}

func isOne(n any) bool {
	switch v := n.(type) {
	case int:
		return v == 1
	case int64:
		return v == 1
	}
	return false
}

// Has reports whether the catalogue has key.
func (l *Localizer) Has(key string) bool { _, ok := l.msgs[key]; return ok }

func (l *Localizer) format(v any) string {
	switch x := v.(type) {
	case int, int64, int32, uint, uint64:
		return l.Num(x)
	case float64:
		return l.printer.Sprint(number.Decimal(x, number.MaxFractionDigits(1)))
	case time.Time:
		return l.DateTime(x)
	case string:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// Num formats an integer with the language's digit grouping.
func (l *Localizer) Num(v any) string {
	return l.printer.Sprint(number.Decimal(v))
}

// Date formats a day (UTC).
func (l *Localizer) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(l.msgs["layout.date"])
}

// DateTime formats a time to the minute (UTC).
func (l *Localizer) DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(l.msgs["layout.datetime"])
}

// Day formats a short day label for chart axes.
func (l *Localizer) Day(t time.Time) string { return t.UTC().Format(l.msgs["layout.day"]) }

// TypeName is the localised name of a STIX type, or the type itself when
// the catalogue has none (custom types).
func (l *Localizer) TypeName(typ string) string {
	if m, ok := l.msgs["type."+typ]; ok {
		return m
	}
	return typ
}

// stixTypes are the STIX 2.1 types the catalogues name (type.<name>); the
// catalogue test checks that both languages have each.
var stixTypes = []string{
	"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
	"infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data",
	"opinion", "report", "threat-actor", "tool", "vulnerability", "relationship", "sighting",
	"marking-definition", "language-content", "extension-definition",
	"artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file",
	"ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
	"user-account", "windows-registry-key", "x509-certificate",
	"x-mitre-tactic", "x-mitre-matrix", "x-mitre-collection", "x-mitre-data-source", "x-mitre-data-component", "x-mitre-asset", "x-mitre-analytic", "x-mitre-detection-strategy",
}

// dynamicKeys are message keys the code builds at run time; the catalogue
// test checks them like the keys written in templates.
func dynamicKeys() []string {
	var keys []string
	for _, t := range stixTypes {
		keys = append(keys, "type."+t)
	}
	for _, l := range []string{"org", "group", "community", "connected", "public"} {
		keys = append(keys, "level."+l)
	}
	for _, r := range []string{"admin", "analyst", "reader", "sync"} {
		keys = append(keys, "role."+r)
	}
	for _, t := range tactics {
		keys = append(keys, "tactic."+t)
	}
	for _, k := range []string{"added", "removed", "changed"} {
		keys = append(keys, "diff."+k)
	}
	for _, k := range []string{"ok", "error", "never", "disabled"} {
		keys = append(keys, "feed.status."+k)
	}
	for _, k := range []string{"clear", "green", "amber", "amber+strict", "red"} {
		keys = append(keys, "tlp."+k)
	}
	for _, l := range Languages {
		keys = append(keys, "lang."+l)
	}
	sort.Strings(keys)
	return keys
}
