// Package loadtest measures mamori scaled out: imports queued on NATS
// JetStream and stored in PostgreSQL by one or more workers. It holds only
// tests and benchmarks; see docs/benchmarks.md for how to run them.
package loadtest
