package supplychain_test

// raceEnabled is set under the race detector, which makes timings meaningless.
var raceEnabled bool
