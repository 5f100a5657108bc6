package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/feed"
	"github.com/mamori-cti/mamori/internal/ingest/formats"
	"github.com/mamori-cti/mamori/internal/ingest/ioc"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "import",
		Args:    "FILE...",
		Summary: "import STIX bundles, MISP events, indicator lists and advisories into the knowledge base",
		Help: `Reads each FILE (- for standard input; gzip is read transparently), converts
it to STIX 2.1, checks every object against the STIX 2.1 specification, and
stores the valid ones. The format is detected from the content, or chosen
with --format:
  stix   STIX 2.1 or 2.0 bundles (2.0 is upgraded; see docs/stix20-upgrade.md)
  misp   MISP events: {"Event": …}, {"response": [...]}, a bare event;
         a directory with manifest.json is a MISP feed (misp-feed)
  csv    delimited indicator lists (CSV, TSV, value;comment); columns from a
         header or --column
  txt    plain indicator lists, one value per line; defanged values refanged
  kev    the CISA Known Exploited Vulnerabilities catalog (JSON)
  cve    CVE JSON 5 records (one, an array, or JSON Lines)
  osv    OSV records (one, an array, or JSON Lines)
docs/formats.md describes each mapping.

Each file is written in one transaction: a file that cannot be read writes
nothing. Invalid objects, list lines and MISP attributes that could not be
imported are reported on standard error with their JSON path or line, and
skipped; with --strict a file with any invalid object writes nothing. The
source of every stored object is recorded (--source, default the file
name). Every import ends with one summary line.

Exit status: 0 when everything was stored, 1 when objects were rejected or a
file failed, 2 for a wrong command line.

Examples:
  mamori import enterprise-attack.json.gz
  mamori import --collection "Sector feed" --rejects rejects.jsonl feed.json
  mamori import --tlp green --confidence 60 --valid-for 30d ipsum.txt
  mamori import --format csv --column value=1 --column type=2 --delimiter '\t' trails.tsv
  mamori import --warninglists misp-warninglists.tar.gz --warninglist-action drop list.txt
  curl -s https://example.org/bundle.json | mamori import -`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			collection := fs.String("collection", "", "also add every object to this collection (title or id)")
			strict := fs.Bool("strict", false, "write nothing from a file that has any invalid object")
			rejects := fs.String("rejects", "", "write each rejected object with its reasons to this file, as JSON lines")
			quiet := fs.Bool("quiet", false, "do not list each rejected object on standard error")
			var ao accessFlags
			ao.register(fs)
			viaBus := fs.Bool("via-bus", false, "queue the objects on the bus for mamori worker processes instead of importing here")
			var rf readerFlags
			rf.register(fs)
			return func(args []string) error {
				if len(args) == 0 {
					return usagef("no file to import")
				}
				if *viaBus {
					if rf.format != "auto" && rf.format != ingest.FormatSTIX {
						return usagef("--via-bus queues STIX bundles; import --format %s here, without --via-bus", rf.format)
					}
					st, err := env.openBackend(ctx)
					if err != nil {
						return err
					}
					opts := ingest.Options{Level: store.LevelCommunity}
					if *collection != "" {
						c, err := st.Collection(ctx, *collection)
						if err != nil {
							st.Close()
							return err
						}
						opts.Collection, opts.Level, opts.Group = c.ID, c.Level, c.Group
					}
					err = ao.apply(ctx, st, &opts)
					st.Close()
					if err != nil {
						return err
					}
					return env.enqueueImport(ctx, args, opts)
				}
				return env.runImport(ctx, args, *collection, *strict, *rejects, *quiet, ao, rf)
			}
		},
	})
}

// readerFlags are the format and policy flags shared by import and feed add.
type readerFlags struct {
	format, source, tlp, confidence, validFor, epoch string
	delimiter, comment, header, kind                 string
	warninglists, warnAction                         string
	columns, labels, warninglist                     stringList
}

func (r *readerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.format, "format", "auto", "input format: auto, "+strings.Join(ingest.Formats, ", "))
	fs.StringVar(&r.source, "source", "", "source name recorded for every object, and the identity of created indicators (default: the file name)")
	fs.StringVar(&r.epoch, "epoch", "", "created, modified and valid_from of list indicators, a STIX timestamp (default: the file's modification time)")
	fs.StringVar(&r.tlp, "tlp", "", "TLP marking of created objects: clear, green, amber, amber+strict, red")
	fs.StringVar(&r.confidence, "confidence", "", "confidence (0-100) of created indicators")
	fs.StringVar(&r.validFor, "valid-for", "", "validity of created indicators: valid_until = valid_from + this (e.g. 720h, 30d)")
	fs.Var(&r.labels, "label", "add this label to created indicators (repeatable)")
	fs.StringVar(&r.delimiter, "delimiter", "", `column delimiter of lists: ',', '\t', ';', '|' or ' ' (default: detected)`)
	fs.StringVar(&r.comment, "comment", "", "comment prefix of lists (default #)")
	fs.Var(&r.columns, "column", "list column as NAME=N, N from 1 (repeatable); names: "+strings.Join(ioc.ColumnNames, ", "))
	fs.StringVar(&r.header, "header", "auto", "whether lists have a header row: auto, yes, no")
	fs.StringVar(&r.kind, "type", "", "type of every list value: ipv4, ipv6, cidr, domain, url, url-path, email, md5, sha1, sha256, sha512, ip-port, domain-port (default: detected per value)")
	fs.StringVar(&r.warninglists, "warninglists", "", "MISP warninglists directory or .tar.gz (env MAMORI_WARNINGLISTS)")
	fs.Var(&r.warninglist, "warninglist", "use only this warninglist (repeatable; default all)")
	fs.StringVar(&r.warnAction, "warninglist-action", "mark", "what to do with indicators on a warninglist: mark (label warninglist:NAME) or drop")
}

// settings turns the flags into feed settings (the same keys a feed keeps).
func (r *readerFlags) settings(getenv func(string) string) (feed.Settings, error) {
	o := map[string]string{
		feed.OptTLP: r.tlp, feed.OptConfidence: r.confidence, feed.OptValidFor: r.validFor,
		feed.OptLabels: strings.Join(r.labels, ","), feed.OptEpoch: r.epoch,
		feed.OptWarninglists: r.warninglists, feed.OptWarninglist: strings.Join(r.warninglist, ","),
		feed.OptDelimiter: r.delimiter, feed.OptComment: r.comment, feed.OptColumns: strings.Join(r.columns, ","),
		feed.OptType: r.kind,
	}
	if o[feed.OptWarninglists] == "" && getenv != nil {
		o[feed.OptWarninglists] = getenv("MAMORI_WARNINGLISTS")
	}
	if r.warnAction != "mark" {
		o[feed.OptWarnAction] = r.warnAction
	}
	if r.header != "auto" {
		o[feed.OptHeader] = r.header
	}
	for k, v := range o {
		if v == "" {
			delete(o, k)
		}
	}
	s, err := feed.ParseSettings(o)
	if err != nil {
		return s, usagef("%v", err)
	}
	if !ingest.ValidFormat(r.format) {
		return s, usagef("--format %q: want auto or one of %s", r.format, strings.Join(ingest.Formats, ", "))
	}
	return s, nil
}

// accessFlags are the distribution flags of commands that write objects.
type accessFlags struct {
	org, distribution, group string
}

func (a *accessFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.org, "org", "", "organisation that owns the objects (default: the instance)")
	fs.StringVar(&a.distribution, "distribution", "", "org, group, community, connected or public (default: the collection's, else community); TLP markings cap it")
	fs.StringVar(&a.group, "sharing-group", "", "sharing group that may read the objects (implies --distribution group)")
}

// apply resolves the flags into import options.
func (a *accessFlags) apply(ctx context.Context, st store.Store, opts *ingest.Options) error {
	if a.org != "" {
		o, err := st.Org(ctx, a.org)
		if err != nil {
			return fmt.Errorf("--org: %w", err)
		}
		opts.Owner = o.ID
	}
	if a.group != "" {
		g, err := st.Group(ctx, a.group)
		if err != nil {
			return fmt.Errorf("--sharing-group: %w", err)
		}
		opts.Group = g.ID
		opts.Level = store.LevelGroup
	}
	if a.distribution != "" {
		l, err := access.ParseLevel(a.distribution)
		if err != nil {
			return usagef("--distribution: %v", err)
		}
		opts.Level = l
	}
	return nil
}

func (env *Env) runImport(ctx context.Context, files []string, collection string, strict bool, rejectsPath string, quiet bool, ao accessFlags, rf readerFlags) error {
	settings, err := rf.settings(env.Getenv)
	if err != nil {
		return err
	}
	st, err := env.openBackend(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	iopts := ingest.Options{Strict: strict, Level: store.LevelCommunity}
	if collection != "" {
		c, err := st.Collection(ctx, collection)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no collection %q; create it with mamori collection add --title", collection)
			}
			return err
		}
		iopts.Collection = c.ID
		iopts.Level, iopts.Group = c.Level, c.Group
	}
	if err := ao.apply(ctx, st, &iopts); err != nil {
		return err
	}
	var rejectsW *json.Encoder
	if rejectsPath != "" {
		f, err := os.Create(rejectsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		iopts.Rejects = f
		rejectsW = json.NewEncoder(f)
	}
	shown := 0
	show := func(line string) {
		if quiet {
			return
		}
		if shown < 50 {
			fmt.Fprintln(env.Stderr, line)
		} else if shown == 50 {
			fmt.Fprintln(env.Stderr, "… more rejections not shown (use --rejects FILE to keep them all)")
		}
		shown++
	}
	iopts.OnReject = func(r ingest.Rejection) { show("rejected " + r.Error()) }
	onNotice := func(n emit.Notice) {
		if n.Kind != emit.Rejected && n.Kind != emit.Dropped && !(n.Kind == emit.Skipped && strings.Contains(n.Reason, "not imported")) {
			env.Log.Debug("import notice", "notice", n.String())
			return
		}
		if rejectsW != nil {
			rejectsW.Encode(n)
		}
		show(n.String())
	}
	im := &formats.Importer{Importer: newImporter(st), Store: st}
	var total formats.Result
	failed := false
	for _, name := range files {
		source := rf.source
		if source == "" {
			source = sourceName(name)
		}
		s := settings
		if s.Epoch.IsZero() {
			s.Epoch = fileEpoch(name)
		}
		opts, err := s.Options(rf.format, source)
		if err != nil {
			return err
		}
		opts.Import = iopts
		opts.OnNotice = onNotice
		if st, err := os.Stat(name); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(name, "manifest.json")); err != nil {
				fmt.Fprintf(env.Stderr, "mamori import: %s is a directory without manifest.json (not a MISP feed)\n", name)
				failed = true
				continue
			}
			res, err := im.ImportFeedDir(ctx, name, 0, opts)
			total.Add(res)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return err
				}
				fmt.Fprintf(env.Stderr, "mamori import: %v\n", err)
				failed = true
			}
			continue
		}
		in, err := env.openInput(name)
		if err != nil {
			fmt.Fprintf(env.Stderr, "mamori import: %v\n", err)
			failed = true
			continue
		}
		bar := newProgress(env.Stderr, name, in.Size)
		opts.Import.Progress = func(int64) { bar.Set(in.BytesRead()) }
		res, err := im.Import(ctx, name, in, opts)
		bar.Done()
		in.Close()
		total.Add(res)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			fmt.Fprintf(env.Stderr, "mamori import: %v\n", err)
			failed = true
		}
		env.Log.Debug("imported", "file", name, "format", res.Format, "read", res.Read, "new", res.New, "rejected", res.Rejected, "seconds", res.Seconds)
	}
	fmt.Fprintln(env.Stdout, total.Summary())
	if n := total.Notices[emit.Rejected] + total.Notices[emit.Dropped] + total.Notices[emit.Duplicate]; n > 0 && !quiet {
		fmt.Fprintf(env.Stderr, "input: %d rejected, %d dropped by warninglists, %d duplicates\n", total.Notices[emit.Rejected], total.Notices[emit.Dropped], total.Notices[emit.Duplicate])
	}
	if failed || total.Rejected > 0 || total.Notices[emit.Rejected] > 0 {
		return &exitError{code: ExitFail}
	}
	return nil
}

// sourceName names a file in provenance records: its base name without
// .gz, or "stdin".
func sourceName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return strings.TrimSuffix(filepath.Base(name), ".gz")
}

// fileEpoch is the time list indicators of a file get: its modification
// time (so that importing the same file again finds them unchanged), or now
// for standard input.
func fileEpoch(name string) time.Time {
	if name != "-" {
		if st, err := os.Stat(name); err == nil {
			return st.ModTime().UTC().Truncate(time.Second)
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}
