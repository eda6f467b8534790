package instrument

import "testing"

// BenchmarkInstrument instruments the Go example module (about 3.8 MB).
func BenchmarkInstrument(b *testing.B) {
	in := readModule(b, projectModuleDirs()[0]+"/email.wasm")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Instrument(in, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip decodes and re-encodes the same module without change.
func BenchmarkRoundTrip(b *testing.B) {
	in := readModule(b, projectModuleDirs()[0]+"/email.wasm")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := roundTrip(in); err != nil {
			b.Fatal(err)
		}
	}
}
