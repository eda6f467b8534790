package host

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// fakeBroker models a channel's outstanding deliveries the way RabbitMQ does: a multiple ack
// settles every outstanding tag up to and including its own, and acking or nacking a tag that is
// not outstanding is a channel error ("unknown delivery tag").
type fakeBroker struct {
	mu          sync.Mutex
	outstanding map[uint64]bool
	acked       map[uint64]bool
	nacked      map[uint64]bool
	frames      int
	err         error
}

func newFakeBroker(n int) *fakeBroker {
	b := &fakeBroker{outstanding: map[uint64]bool{}, acked: map[uint64]bool{}, nacked: map[uint64]bool{}}
	for t := 1; t <= n; t++ {
		b.outstanding[uint64(t)] = true
	}
	return b
}

func (b *fakeBroker) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
}

func (b *fakeBroker) Ack(tag uint64, multiple bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames++
	if !b.outstanding[tag] {
		b.fail("ack of tag %d, which is not outstanding", tag)
		return nil
	}
	if multiple {
		for t := range b.outstanding {
			if t <= tag {
				delete(b.outstanding, t)
				b.acked[t] = true
			}
		}
		return nil
	}
	delete(b.outstanding, tag)
	b.acked[tag] = true
	return nil
}

func (b *fakeBroker) Nack(tag uint64, multiple bool, requeue bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames++
	if multiple || !b.outstanding[tag] {
		b.fail("nack of tag %d (multiple %v)", tag, multiple)
		return nil
	}
	delete(b.outstanding, tag)
	b.nacked[tag] = true
	return nil
}

func (b *fakeBroker) Reject(tag uint64, requeue bool) error { return b.Nack(tag, false, requeue) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Jobs settle n deliveries in a random order, some with nacks, from several goroutines: every
// delivery ends acked or nacked exactly as its job said, no frame names a tag that is not
// outstanding, and in-order runs are acked in far fewer frames than deliveries.
func TestAckerSettlesEveryDeliveryOnce(t *testing.T) {
	for _, n := range []int{1, 7, 500, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := newFakeBroker(n)
			a := newAcker(b, discard, 1000)
			tags := make([]uint64, n)
			for i := range tags {
				tags[i] = uint64(i + 1)
			}
			// Mostly in order, with local shuffles, like jobs finishing at about the same pace.
			for i := range tags {
				j := min(n-1, i+rand.IntN(8))
				tags[i], tags[j] = tags[j], tags[i]
			}
			nack := func(t uint64) bool { return t%97 == 0 }
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 4 {
						if nack(tags[i]) {
							_ = a.Nack(tags[i], false, true)
						} else {
							_ = a.Ack(tags[i], false)
						}
					}
				}()
			}
			wg.Wait()
			a.close()
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.err != nil {
				t.Fatal(b.err)
			}
			if len(b.outstanding) != 0 {
				t.Fatalf("%d deliveries left unsettled", len(b.outstanding))
			}
			for tag := uint64(1); tag <= uint64(n); tag++ {
				if nack(tag) != b.nacked[tag] || nack(tag) == b.acked[tag] {
					t.Fatalf("tag %d: acked %v nacked %v", tag, b.acked[tag], b.nacked[tag])
				}
			}
			if n >= 500 && b.frames > n/2 {
				t.Errorf("%d frames for %d deliveries: acks are not batched", b.frames, n)
			}
			if err := a.Ack(1, false); err == nil {
				t.Error("ack after close: no error")
			}
		})
	}
}

// A delivery held by a long job does not hold back the acks of the ones after it for longer than
// straggleFor.
func TestAckerDoesNotWaitForeverForAGap(t *testing.T) {
	b := newFakeBroker(3)
	a := newAcker(b, discard, 10)
	defer a.close()
	_ = a.Ack(2, false)
	_ = a.Ack(3, false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		done := b.acked[2] && b.acked[3]
		b.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deliveries 2 and 3 not acked while 1 is still running")
		}
		time.Sleep(time.Millisecond)
	}
	b.mu.Lock()
	if b.acked[1] || !b.outstanding[1] {
		t.Fatal("delivery 1 acked before its job settled it")
	}
	b.mu.Unlock()
	_ = a.Ack(1, false)
	a.flush()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil || !b.acked[1] {
		t.Fatalf("after flush: acked %v err %v", b.acked[1], b.err)
	}
}

// flush returns only once everything settled before it has been sent.
func TestAckerFlush(t *testing.T) {
	b := newFakeBroker(100)
	a := newAcker(b, discard, 10)
	defer a.close()
	for tag := uint64(100); tag >= 1; tag-- {
		if tag != 50 {
			_ = a.Ack(tag, false)
		}
	}
	a.flush()
	b.mu.Lock()
	n := len(b.acked)
	b.mu.Unlock()
	if n != 99 {
		t.Fatalf("after flush %d of 99 acked", n)
	}
}
