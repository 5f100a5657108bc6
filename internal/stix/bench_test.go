package stix

import "testing"

// BenchmarkValidateATTACK validates every object of the enterprise ATT&CK
// bundle (24,772 objects) per iteration.
func BenchmarkValidateATTACK(b *testing.B) {
	objs := attackObjects(b, "enterprise")
	var v Validator
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, o := range objs {
			if vs := v.Validate(o); len(vs) != 0 {
				b.Fatalf("unexpected violations: %v", vs)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(objs)), "ns/object")
}

// BenchmarkParseTimestamp measures the hand-written timestamp parser.
func BenchmarkParseTimestamp(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseTimestamp("2017-05-31T21:30:19.735Z"); err != nil {
			b.Fatal(err)
		}
	}
}
