// Package cli implements mamori's command line: the global flags, one file per
// subcommand, progress bars and exit codes. Main takes its arguments and
// streams as parameters so every command can be tested in-process.
package cli
