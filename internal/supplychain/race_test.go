//go:build race

package supplychain_test

func init() { raceEnabled = true }
