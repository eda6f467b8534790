package host

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// fakeChannel is an Acknowledger that only counts.
type fakeChannel struct{ acks, nacks int }

func (f *fakeChannel) Ack(uint64, bool) error        { f.acks++; return nil }
func (f *fakeChannel) Nack(uint64, bool, bool) error { f.nacks++; return nil }
func (f *fakeChannel) Reject(uint64, bool) error     { f.nacks++; return nil }

func TestClaimHandling(t *testing.T) {
	w := &Worker{handling: make(map[handlingKey]*handling)}
	key := handlingKey{queue: "q", id: "job", try: 1}
	chA, chB := &fakeChannel{}, &fakeChannel{}

	first := amqp.Delivery{Acknowledger: chA, DeliveryTag: 1}
	h, dup := w.claimHandling(key, &first)
	if dup || h == nil {
		t.Fatal("the first delivery was not claimed")
	}
	// A copy on the same channel while the first is unsettled: acked at once.
	if _, dup := w.claimHandling(key, &amqp.Delivery{Acknowledger: chA, DeliveryTag: 2}); !dup {
		t.Fatal("a copy on the same channel, first unsettled, was not a duplicate")
	}
	// Another try of the same job is not a copy.
	if h2, dup := w.claimHandling(handlingKey{queue: "q", id: "job", try: 2}, &amqp.Delivery{Acknowledger: chA}); dup || h2 == nil {
		t.Fatal("try 2 was taken for a copy of try 1")
	}

	// A copy on another channel (the first's died and the broker requeued it) waits for the
	// first's handling to end, then is handled.
	claimed := make(chan *handling)
	go func() {
		h, _ := w.claimHandling(key, &amqp.Delivery{Acknowledger: chB, DeliveryTag: 7})
		claimed <- h
	}()
	select {
	case <-claimed:
		t.Fatal("a copy on another channel was handled while the first was")
	case <-time.After(50 * time.Millisecond):
	}
	if err := first.Nack(false, true); err != nil || chA.nacks != 1 || !h.settled.Load() {
		t.Fatalf("settling through the tracker: err %v, nacks %d, settled %v", err, chA.nacks, h.settled.Load())
	}
	w.releaseHandling(key, h)
	h3 := <-claimed
	if h3 == nil || h3.channel != chB {
		t.Fatal("the copy was not claimed once the first ended")
	}

	// A copy on the same channel after the first was settled (nacked back, or sent on with a new
	// delay) is not acked: it may be the only one left. It waits, then is handled.
	third := amqp.Delivery{Acknowledger: chB, DeliveryTag: 8}
	_ = amqp.Delivery{Acknowledger: settleTracker{Acknowledger: chB, h: h3}, DeliveryTag: 7}.Ack(false)
	go func() {
		h, _ := w.claimHandling(key, &third)
		claimed <- h
	}()
	select {
	case <-claimed:
		t.Fatal("a copy was handled while the settled first was still being handled")
	case <-time.After(50 * time.Millisecond):
	}
	w.releaseHandling(key, h3)
	if h4 := <-claimed; h4 == nil {
		t.Fatal("the copy was not claimed once the first ended")
	}
}
