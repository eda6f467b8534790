package arq

import (
	"bytes"
	"testing"
)

func BenchmarkDispatch(b *testing.B) {
	Register("bench_noop", func(Context) error { return nil })
	Register("bench_email", func(ctx Context, to, subject, body string) (map[string]string, error) {
		return map[string]string{"to": to, "subject": subject}, nil
	}, "to", "subject", "body")
	Handle("bench_struct", func(ctx Context, a wordCountArgs) (int, error) { return len(a.Text), nil })
	b.Cleanup(func() {
		unregister("bench_noop")
		unregister("bench_email")
		unregister("bench_struct")
	})
	for _, bm := range []struct{ name, input string }{
		{"noop", string(jobJSON("bench_noop", "", ""))},
		{"email", string(jobJSON("bench_email", `["ann@example.com"]`, `{"subject":"hello","body":"a body"}`))},
		{"struct", string(jobJSON("bench_struct", `[]`, `{"text":"some words here","min_len":2}`))},
	} {
		b.Run(bm.name, func(b *testing.B) {
			input := []byte(bm.input)
			var out bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				dispatch(input, &out)
			}
			if bytes.HasPrefix(out.Bytes(), []byte(`{"error"`)) {
				b.Fatalf("output %s", out.Bytes())
			}
		})
	}
}
