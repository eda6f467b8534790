package host

import (
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host/wasm"
)

func guestErr(kind abi.ErrorKind, afterMs int64) *wasm.Outcome {
	return &wasm.Outcome{Kind: wasm.GuestError, Error: &abi.Error{Kind: kind, Type: "E", RetryAfterMs: afterMs}}
}

func TestRetryPolicyDefaults(t *testing.T) {
	p := DefaultRetryPolicy()
	cases := []struct {
		name  string
		o     *wasm.Outcome
		try   int
		retry bool
	}{
		{"guest retry", guestErr(abi.KindRetry, 0), 1, true},
		{"guest retry on the last try", guestErr(abi.KindRetry, 0), 4, false},
		{"ordinary error", guestErr(abi.KindError, 0), 2, true},
		{"permanent", guestErr(abi.KindPermanent, 0), 1, false},
		{"timeout", &wasm.Outcome{Kind: wasm.Timeout}, 3, true},
		{"trap", &wasm.Outcome{Kind: wasm.Trap}, 1, false},
		{"memory", &wasm.Outcome{Kind: wasm.LimitExceeded}, 1, false},
		{"bad output", &wasm.Outcome{Kind: wasm.BadOutput}, 1, false},
		{"unknown task", &wasm.Outcome{Kind: wasm.UnknownTask}, 1, false},
	}
	for _, c := range cases {
		if d := p.Decide(c.o, c.try); d.Retry != c.retry || (!d.Retry && d.Why == "") {
			t.Errorf("%s (try %d): %+v, want retry=%v", c.name, c.try, d, c.retry)
		}
	}
}

func TestRetryDelays(t *testing.T) {
	p := RetryPolicy{MaxTries: 10, Backoff: time.Second, MaxBackoff: 10 * time.Second, Retry: map[Class]bool{ClassGuestRetry: true, ClassGuestError: true}}
	if d := p.Decide(guestErr(abi.KindRetry, 5000), 1); d.Delay != 5*time.Second {
		t.Fatalf("explicit delay: %s", d.Delay)
	}
	for try, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		for i := 0; i < 50; i++ {
			d := p.Decide(guestErr(abi.KindError, 0), try).Delay
			if d < base*3/4 || d > base*5/4 {
				t.Fatalf("try %d: %s outside %s ±25%%", try, d, base)
			}
		}
	}
}

func TestBackoffWithoutCapAndJitterWithinCap(t *testing.T) {
	p := RetryPolicy{MaxTries: 10, Backoff: time.Second, Retry: map[Class]bool{ClassGuestError: true}}
	if d := p.Decide(guestErr(abi.KindError, 0), 4).Delay; d < 6*time.Second {
		t.Fatalf("no cap: try 4 waited %s, want about 8s", d)
	}
	p.MaxBackoff = 3 * time.Second
	for i := 0; i < 100; i++ {
		if d := p.Decide(guestErr(abi.KindError, 0), 5).Delay; d > 3*time.Second {
			t.Fatalf("delay %s over the cap", d)
		}
	}
}
