package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

func init() {
	register(&Command{
		Name:    "pattern check",
		Args:    "[FILE|-]...",
		Summary: "check that STIX patterns are valid",
		Help: `Reads patterns from the files (or standard input, also written -), one per
line. A line that starts with { is a JSON object whose "pattern" field holds
the pattern, such as an indicator; its "pattern_type", when present, must be
"stix". Blank lines are skipped.

Writes one JSON line per pattern, in order:
  {"valid":true}
  {"valid":false,"error":"expected ']' or AND/OR, found 'FOO'","offset":31}
where offset is the byte offset of the problem in the pattern. Exits with
status 1 when a pattern is invalid.

Examples:
  echo "[ipv4-addr:value = '198.51.100.7']" | mamori pattern check
  mamori pattern check indicators.jsonl`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				out := newJSONLines(env.Stdout)
				invalid := false
				err := forEachLine(ctx, env, args, out, func(line []byte) error {
					res := checkPatternLine(line)
					if !res.Valid {
						invalid = true
					}
					return out.write(res)
				})
				if ferr := out.flush(); err == nil {
					err = ferr
				}
				if err != nil {
					return err
				}
				if invalid {
					return &exitError{code: ExitFail}
				}
				return nil
			}
		},
	})
	register(&Command{
		Name:    "pattern eval",
		Args:    "[FILE|-]...",
		Summary: "match STIX patterns against observed data",
		Help: `Reads JSON lines from the files (or standard input, also written -), each
holding a pattern and the STIX objects it is matched against:
  {"pattern":"[file:name = 'a.exe']","observed":[ observed-data and SCOs ]}
With STIX 2.1 (the default) observed-data objects name their objects in
object_refs, and those objects come in the same list. With --stix-version 2.0
each observed-data object embeds its objects. Lines can be of any length.
Blank lines are skipped.

Writes one JSON line per input line, in order: {"match":true},
{"match":false}, or {"error":"…"} when the line, the pattern or the objects
are invalid. Exits with status 1 when a line had an error.

Example:
  mamori pattern eval --stix-version 2.0 cases.jsonl`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			version := fs.String("stix-version", "2.1", "STIX version of the observed objects: 2.0 or 2.1")
			return func(args []string) error {
				if *version != "2.0" && *version != "2.1" {
					return usagef("--stix-version must be 2.0 or 2.1, not %q", *version)
				}
				out := newJSONLines(env.Stdout)
				failed := false
				err := forEachLine(ctx, env, args, out, func(line []byte) error {
					res := evalPatternLine(line, *version)
					if res.Error != "" {
						failed = true
					}
					return out.write(res)
				})
				if ferr := out.flush(); err == nil {
					err = ferr
				}
				if err != nil {
					return err
				}
				if failed {
					return &exitError{code: ExitFail}
				}
				return nil
			}
		},
	})
}

// checkResult is one output line of pattern check.
type checkResult struct {
	Valid  bool   `json:"valid"`
	Error  string `json:"error,omitempty"`
	Offset *int   `json:"offset,omitempty"`
}

func checkPatternLine(line []byte) checkResult {
	text := string(line)
	if trimmed := bytes.TrimSpace(line); trimmed[0] == '{' {
		var obj struct {
			Pattern     *string `json:"pattern"`
			PatternType *string `json:"pattern_type"`
		}
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return checkResult{Error: "invalid JSON: " + err.Error()}
		}
		if obj.Pattern == nil {
			return checkResult{Error: `the JSON object has no "pattern" string`}
		}
		if obj.PatternType != nil && *obj.PatternType != "stix" {
			return checkResult{Error: fmt.Sprintf("pattern_type is %q, not stix", *obj.PatternType)}
		}
		text = *obj.Pattern
	}
	if _, err := pattern.Parse(text); err != nil {
		var perr *pattern.Error
		if errors.As(err, &perr) {
			off := perr.Offset
			return checkResult{Error: perr.Msg, Offset: &off}
		}
		return checkResult{Error: err.Error()}
	}
	return checkResult{Valid: true}
}

// evalResult is one output line of pattern eval.
type evalResult struct {
	Match *bool  `json:"match,omitempty"`
	Error string `json:"error,omitempty"`
}

func evalPatternLine(line []byte, version string) evalResult {
	var in struct {
		Pattern  *string          `json:"pattern"`
		Observed []map[string]any `json:"observed"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return evalResult{Error: "invalid JSON: " + err.Error()}
	}
	if dec.More() {
		return evalResult{Error: "invalid JSON: more than one value on the line"}
	}
	if in.Pattern == nil {
		return evalResult{Error: `the line has no "pattern" string`}
	}
	p, err := pattern.Parse(*in.Pattern)
	if err != nil {
		return evalResult{Error: "pattern: " + err.Error()}
	}
	var obs []*pattern.Observation
	if version == "2.0" {
		obs, err = pattern.ObservationsFromSTIX20(in.Observed)
	} else {
		obs, err = pattern.ObservationsFromSTIX21(in.Observed)
	}
	if err != nil {
		return evalResult{Error: "observed: " + err.Error()}
	}
	ok, err := p.Match(obs)
	if err != nil {
		return evalResult{Error: err.Error()}
	}
	return evalResult{Match: &ok}
}

// jsonLines writes one JSON value per line, buffered.
type jsonLines struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func newJSONLines(w io.Writer) *jsonLines {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonLines{w: bw, enc: enc}
}

func (j *jsonLines) write(v any) error { return j.enc.Encode(v) }

func (j *jsonLines) flush() error { return j.w.Flush() }

// forEachLine calls fn with every non-blank line of the named files, or of
// standard input when there are none or a name is -, without its line
// terminator. Lines can be of any length. Output is flushed whenever
// reading would wait for more input, so results stream through pipes.
func forEachLine(ctx context.Context, env *Env, names []string, out *jsonLines, fn func(line []byte) error) error {
	if len(names) == 0 {
		names = []string{"-"}
	}
	for _, name := range names {
		if name == "-" {
			if err := readLines(ctx, env.Stdin, "standard input", out, fn); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = readLines(ctx, f, name, out, fn)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func readLines(ctx context.Context, r io.Reader, name string, out *jsonLines, fn func(line []byte) error) error {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if br.Buffered() == 0 {
			if err := out.flush(); err != nil {
				return err
			}
		}
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(bytes.TrimSpace(line)) > 0 {
				if ferr := fn(line); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}
