package wasm

import (
	"strings"
	"testing"
)

func TestCaptureBufferKeepsHeadAndTail(t *testing.T) {
	c := newCaptureBuffer(8, 8)
	c.Write([]byte("fatal: "))
	if got := c.take(); got != "fatal: " {
		t.Fatalf("short: %q", got)
	}
	c.Write([]byte("fatal: oom"))
	for i := 0; i < 100; i++ {
		c.Write([]byte("goroutine dump line\n"))
	}
	c.Write([]byte("END"))
	got := c.take()
	if !strings.HasPrefix(got, "fatal: o") || !strings.HasSuffix(got, "line\nEND") || !strings.Contains(got, "…") {
		t.Fatalf("got %q", got)
	}
	if c.take() != "" {
		t.Fatal("take did not empty the buffer")
	}
}
