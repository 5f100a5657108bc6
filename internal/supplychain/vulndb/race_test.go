//go:build race

package vulndb_test

func init() { raceEnabled = true }
