package host

import (
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Duplicate deliveries. Delivery is at least once: after a broker restart, the main queue or the
// delay levels (whose dead-lettering is at-least-once) can bring a second copy of a job while this
// worker still holds or runs the first. Running both would complete the job twice, and the
// record check before a run does not see the first until it records in_progress.
//
// So a worker remembers the job tries it is handling, with the channel each came on and whether
// it has been settled yet. A second delivery of one of them is
//   - acked at once if the first is still unsettled on the same channel: the broker keeps the
//     first until it is settled (and redelivers it if the channel dies), so nothing is lost;
//   - otherwise held back until the first's handling ends, then handled like any delivery (the
//     job's record decides whether it runs). That is the case when the first came on a channel
//     that has since died (the broker requeued it: the new copy may be the only one), or when
//     the first was already nacked back to the queue or sent on with a new delay.

// handlingKey names one try of a job on one queue.
type handlingKey struct {
	queue, id string
	try       int
}

// handling is the delivery of a job try that this worker is handling.
type handling struct {
	channel amqp.Acknowledger // the channel's acker, as the delivery came with it
	settled atomic.Bool       // acked, nacked or rejected
	done    chan struct{}     // closed when its handling ends
}

// settleTracker is the Acknowledger of a delivery being handled: it notes that the delivery was
// settled, then passes the call on.
type settleTracker struct {
	amqp.Acknowledger
	h *handling
}

func (t settleTracker) Ack(tag uint64, multiple bool) error {
	t.h.settled.Store(true)
	return t.Acknowledger.Ack(tag, multiple)
}

func (t settleTracker) Nack(tag uint64, multiple, requeue bool) error {
	t.h.settled.Store(true)
	return t.Acknowledger.Nack(tag, multiple, requeue)
}

func (t settleTracker) Reject(tag uint64, requeue bool) error {
	t.h.settled.Store(true)
	return t.Acknowledger.Reject(tag, requeue)
}

// claimHandling records that d, a delivery of key, is being handled here, and makes d's settling
// visible to later copies. dup reports a copy to ack without handling (the first is unsettled on
// the same channel); a copy that must wait for the first waits here.
func (w *Worker) claimHandling(key handlingKey, d *amqp.Delivery) (h *handling, dup bool) {
	for {
		w.handlingMu.Lock()
		first, busy := w.handling[key]
		if !busy {
			h = &handling{channel: d.Acknowledger, done: make(chan struct{})}
			w.handling[key] = h
			w.handlingMu.Unlock()
			d.Acknowledger = settleTracker{Acknowledger: d.Acknowledger, h: h}
			return h, false
		}
		w.handlingMu.Unlock()
		if first.channel == d.Acknowledger && !first.settled.Load() {
			return nil, true
		}
		<-first.done
	}
}

// releaseHandling ends the handling of key's delivery h.
func (w *Worker) releaseHandling(key handlingKey, h *handling) {
	w.handlingMu.Lock()
	if w.handling[key] == h {
		delete(w.handling, key)
	}
	w.handlingMu.Unlock()
	close(h.done)
}
