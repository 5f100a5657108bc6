package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/mamori-cti/mamori/internal/config"
)

// Exit codes shared by every command.
const (
	ExitOK    = 0
	ExitFail  = 1 // the command ran and found a problem (invalid input, a rejected object)
	ExitUsage = 2 // the command line itself was wrong
)

// Env is what a command runs with: its streams and the global options.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// DataDir is the embedded store directory (--data, MAMORI_DATA, ./mamori-data).
	DataDir string
	// Config holds every setting, resolved from defaults, the configuration
	// file, the environment and the global flags.
	Config config.Options
	// Log writes structured logs to Stderr.
	Log *slog.Logger
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string
}

// Command is one subcommand of mamori.
type Command struct {
	// Name is the word after mamori, such as "import". Nested commands use a
	// space: "pattern check".
	Name string
	// Args describes the positional arguments for the usage line.
	Args string
	// Summary is one line for `mamori --help`.
	Summary string
	// Help is the longer text shown by `mamori NAME --help`, after the usage line.
	Help string
	// Flags declares the command's flags on fs; the returned function runs the
	// command with the remaining positional arguments.
	Run func(ctx context.Context, env *Env, fs *flag.FlagSet) func(args []string) error
}

var commands = map[string]*Command{}

// register adds a command; each command file calls it from init.
func register(c *Command) {
	if _, dup := commands[c.Name]; dup {
		panic("cli: duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

// usageError marks an error as a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitError carries a specific exit code with an optional message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// Main runs mamori with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	return env.main(ctx, args)
}

func (env *Env) main(ctx context.Context, args []string) int {
	global := flag.NewFlagSet("mamori", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	def := config.Defaults()
	configFile := global.String("config", "", "JSON configuration file (env MAMORI_CONFIG)")
	dataFlag := global.String("data", def.Data, "data directory of the embedded store (env MAMORI_DATA)")
	storeFlag := global.String("store", "", "knowledge base: a postgres:// URL instead of the embedded store (env MAMORI_STORE)")
	busFlag := global.String("bus", "", "event bus: a nats:// URL instead of the in-process bus (env MAMORI_BUS)")
	logLevel := global.String("log-level", def.LogLevel, "log level: debug, info, warn, error (env MAMORI_LOG_LEVEL)")
	logFormat := global.String("log-format", def.LogFormat, "log format: text or json (env MAMORI_LOG_FORMAT)")
	help := global.Bool("help", false, "show help")
	global.BoolVar(help, "h", false, "show help")
	if err := global.Parse(args); err != nil {
		fmt.Fprintf(env.Stderr, "mamori: %v\n\n", err)
		env.usage(global)
		return ExitUsage
	}
	// Defaults, then the file, then the environment, then the flags given.
	cfg := def
	if *configFile == "" {
		*configFile = env.Getenv("MAMORI_CONFIG")
	}
	if *configFile != "" {
		if err := cfg.LoadFile(*configFile); err != nil {
			fmt.Fprintf(env.Stderr, "mamori: %v\n", err)
			return ExitUsage
		}
	}
	if err := cfg.LoadEnv(env.Getenv); err != nil {
		fmt.Fprintf(env.Stderr, "mamori: %v\n", err)
		return ExitUsage
	}
	global.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data":
			cfg.Data = *dataFlag
		case "store":
			cfg.Store = *storeFlag
		case "bus":
			cfg.Bus = *busFlag
		case "log-level":
			cfg.LogLevel = *logLevel
		case "log-format":
			cfg.LogFormat = *logFormat
		}
	})
	env.Config = cfg
	env.DataDir = cfg.Data
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(env.Stderr, "mamori: %v\n", err)
		return ExitUsage
	}
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.LogLevel))
	hopts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		env.Log = slog.New(slog.NewJSONHandler(env.Stderr, hopts))
	} else {
		env.Log = slog.New(slog.NewTextHandler(env.Stderr, hopts))
	}
	rest := global.Args()
	if *help || len(rest) == 0 {
		env.usage(global)
		if *help || len(args) > 0 {
			return ExitOK
		}
		return ExitUsage
	}
	if rest[0] == "help" {
		if len(rest) == 1 {
			env.usage(global)
			return ExitOK
		}
		rest = append(rest[1:], "--help")
	}
	cmd, cargs := lookup(rest)
	if cmd == nil {
		if group := groupOf(rest[0]); len(group) > 0 {
			env.groupUsage(rest[0], group)
			if len(rest) == 1 {
				return ExitUsage
			}
			fmt.Fprintf(env.Stderr, "mamori: unknown command %q\n", strings.Join(rest[:2], " "))
			return ExitUsage
		}
		fmt.Fprintf(env.Stderr, "mamori: unknown command %q; see mamori --help\n", rest[0])
		return ExitUsage
	}
	fs := flag.NewFlagSet("mamori "+cmd.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := cmd.Run(ctx, env, fs)
	fs.Usage = func() {}
	if err := fs.Parse(cargs); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			env.commandUsage(cmd, fs, env.Stdout)
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "mamori %s: %v\n\n", cmd.Name, err)
		env.commandUsage(cmd, fs, env.Stderr)
		return ExitUsage
	}
	err := run(fs.Args())
	if err == nil {
		return ExitOK
	}
	var ue *usageError
	var ee *exitError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "mamori %s: %v\n", cmd.Name, err)
		fmt.Fprintf(env.Stderr, "usage: mamori %s [flags] %s (see --help)\n", cmd.Name, cmd.Args)
		return ExitUsage
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(env.Stderr, "mamori %s: %v\n", cmd.Name, ee.err)
		}
		return ee.code
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(env.Stderr, "mamori %s: interrupted\n", cmd.Name)
		return 130
	default:
		fmt.Fprintf(env.Stderr, "mamori %s: %v\n", cmd.Name, err)
		return ExitFail
	}
}

// lookup finds the longest command name matching the start of args.
func lookup(args []string) (*Command, []string) {
	if len(args) >= 2 {
		if c := commands[args[0]+" "+args[1]]; c != nil {
			return c, args[2:]
		}
	}
	if c := commands[args[0]]; c != nil {
		return c, args[1:]
	}
	return nil, nil
}

func groupOf(word string) []*Command {
	var out []*Command
	for name, c := range commands {
		if strings.HasPrefix(name, word+" ") {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (env *Env) usage(global *flag.FlagSet) {
	w := env.Stdout
	fmt.Fprint(w, `mamori collects, stores, analyses and shares cyber-threat intelligence as STIX 2.1.

Usage: mamori [global flags] <command> [flags] [arguments]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].Summary)
	}
	fmt.Fprint(w, "\nGlobal flags:\n")
	printFlags(w, global)
	fmt.Fprint(w, "\nRun 'mamori <command> --help' for a command's flags and examples.\n")
}

func (env *Env) groupUsage(word string, group []*Command) {
	fmt.Fprintf(env.Stderr, "mamori %s: choose a subcommand:\n", word)
	for _, c := range group {
		fmt.Fprintf(env.Stderr, "  %-18s %s\n", c.Name, c.Summary)
	}
}

func (env *Env) commandUsage(c *Command, fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage: mamori %s [flags] %s\n\n%s\n", c.Name, c.Args, c.Summary)
	if c.Help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.Help))
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, fs)
	}
	fmt.Fprint(w, "\nGlobal flags such as --data DIR go before the command name; see mamori --help.\n")
}

func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if name != "" {
			left += " " + name
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %-26s %s%s\n", left, usage, def)
	})
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
