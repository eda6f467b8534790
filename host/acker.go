package host

import (
	"log/slog"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// straggleFor is how long an acknowledged delivery waits for the deliveries before it to finish,
// so that one ack with multiple=true covers them all, before it is acknowledged on its own. It
// bounds how long a long job holds back the acks of the short ones that came after it.
const straggleFor = 20 * time.Millisecond

// ackLinger and ackBatch: acks covered by the watermark are sent when ackBatch of them are waiting
// or the oldest has waited ackLinger. Every ack frame costs the broker about as much CPU as a
// job's delivery, so one frame per few jobs is worth a short wait: the results are stored
// already, and a delivery acked a little later is only redelivered (and skipped) if the worker
// dies in between.
const (
	ackLinger = 2 * time.Millisecond
	ackBatch  = 256
)

// acker acknowledges one channel's deliveries in batches. It stands in for the channel as each
// delivery's Acknowledger, so the job code acks and nacks as usual (d.Ack, d.Nack) and never
// waits for the broker.
//
// Delivery tags on a channel count up from 1, one per delivery. The acker keeps the lowest tag not
// yet settled (the watermark); when the deliveries below a tag are all settled it sends one
// Ack(tag, multiple=true) for all of them, after at most ackLinger. A delivery acked out of order waits up to straggleFor
// for the ones before it, then is acked on its own. Nacks and rejects are sent at once, in order
// with the acks, so a multiple ack never covers a delivery that was returned (RabbitMQ's multiple
// ack covers only deliveries still outstanding, and is sent only for a tag that still is).
//
// The broker's acknowledgement is asynchronous either way (an ack has no reply), so batching only
// changes how many frames the broker handles: one per batch instead of one per job.
type acker struct {
	ch  amqp.Acknowledger
	log *slog.Logger
	in  chan settlement
	// done is closed when the loop has sent everything and returned.
	done chan struct{}

	// Loop state.
	next    uint64              // lowest tag not yet settled
	settled map[uint64]ackedTag // settled tags above next
	waiting int                 // settled tags still to acknowledge (outstanding at the broker)
	due     time.Time           // no waiting tag is due to be sent on its own before this
	// Acks below the watermark not sent yet: one multiple ack on pendingTag sends them.
	pendingTag   uint64
	pendingN     int
	pendingSince time.Time
	failures     int // broker errors since the last warning
}

// settlement is one delivery settled by a job, or (flush non-nil) a request to send everything.
type settlement struct {
	tag     uint64
	nack    bool
	requeue bool
	flush   chan struct{}
}

// ackedTag is a settled tag above the watermark.
type ackedTag struct {
	outstanding bool      // acked by the job but not yet sent to the broker
	at          time.Time // when the job acked it
}

// newAcker starts an acker for the deliveries of ch. buffer is how many settlements can queue
// without blocking the jobs (the prefetch is the natural size).
func newAcker(ch amqp.Acknowledger, log *slog.Logger, buffer int) *acker {
	a := &acker{
		ch: ch, log: log, in: make(chan settlement, max(buffer, 64)), done: make(chan struct{}),
		next: 1, settled: make(map[uint64]ackedTag),
	}
	go a.loop()
	return a
}

// Ack records that the delivery with this tag may be acknowledged. multiple is not used by the
// worker and is passed through after everything queued has been sent.
func (a *acker) Ack(tag uint64, multiple bool) error {
	if multiple {
		a.close()
		return a.ch.Ack(tag, true)
	}
	return a.put(settlement{tag: tag})
}

// Nack returns a delivery to the broker (requeue) or drops it, at once and in order with the acks.
func (a *acker) Nack(tag uint64, multiple bool, requeue bool) error {
	if multiple {
		a.close()
		return a.ch.Nack(tag, true, requeue)
	}
	return a.put(settlement{tag: tag, nack: true, requeue: requeue})
}

// Reject is Nack of one delivery.
func (a *acker) Reject(tag uint64, requeue bool) error {
	return a.Nack(tag, false, requeue)
}

func (a *acker) put(s settlement) (err error) {
	defer func() {
		if recover() != nil { // the acker was closed: the channel is being closed too
			err = amqp.ErrClosed
		}
	}()
	a.in <- s
	return nil
}

// close sends everything settled so far and stops the acker. Settling afterwards fails with
// amqp.ErrClosed, as it would on the closed channel.
func (a *acker) close() {
	defer func() { _ = recover() }() // closed already
	close(a.in)
	<-a.done
}

// flush waits until everything settled before the call has been sent to the broker.
func (a *acker) flush() {
	f := make(chan struct{})
	if a.put(settlement{flush: f}) != nil {
		return
	}
	select {
	case <-f:
	case <-a.done:
	}
}

func (a *acker) loop() {
	defer close(a.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var flushes []chan struct{}
	for {
		var s settlement
		var ok bool
		select {
		case s, ok = <-a.in:
		case <-timer.C:
			now := time.Now()
			a.sendPending(now, false)
			a.sendStragglers(now, false)
			a.arm(timer)
			continue
		}
		if !ok {
			now := time.Now()
			a.advance(now)
			a.sendPending(now, true)
			a.sendStragglers(now, true)
			a.warn()
			return
		}
		now := time.Now()
		flushes = a.take(s, now, flushes[:0])
		// Take whatever else is queued, so that one ack covers it all.
	more:
		for range cap(a.in) {
			select {
			case s, ok = <-a.in:
				if !ok {
					break more
				}
				flushes = a.take(s, now, flushes)
			default:
				break more
			}
		}
		a.advance(now)
		a.sendPending(now, len(flushes) > 0 || !ok)
		a.sendStragglers(now, len(flushes) > 0 || !ok)
		for _, f := range flushes {
			close(f)
		}
		a.warn()
		if !ok {
			return
		}
		a.arm(timer)
	}
}

// take applies one settlement.
func (a *acker) take(s settlement, now time.Time, flushes []chan struct{}) []chan struct{} {
	if s.flush != nil {
		return append(flushes, s.flush)
	}
	if s.tag < a.next {
		return flushes // settled twice; the first one counted
	}
	if _, dup := a.settled[s.tag]; dup {
		return flushes
	}
	if s.nack {
		if err := a.ch.Nack(s.tag, false, s.requeue); err != nil {
			a.failures++
		}
		a.settled[s.tag] = ackedTag{}
		return flushes
	}
	a.settled[s.tag] = ackedTag{outstanding: true, at: now}
	if a.waiting == 0 {
		a.due = now.Add(straggleFor)
	}
	a.waiting++
	return flushes
}

// advance moves the watermark over the settled tags at its foot; the acks among them become
// pending, to be sent by one multiple ack on the highest of them (sendPending).
func (a *acker) advance(now time.Time) {
	var last uint64
	n := 0
	for {
		t, ok := a.settled[a.next]
		if !ok {
			break
		}
		if t.outstanding {
			last = a.next
			a.waiting--
			n++
		}
		delete(a.settled, a.next)
		a.next++
	}
	if last != 0 {
		if a.pendingN == 0 {
			a.pendingSince = now
		}
		a.pendingTag = last
		a.pendingN += n
	}
}

// sendPending sends the pending acks if enough are waiting, the oldest has waited ackLinger, or
// force is set.
func (a *acker) sendPending(now time.Time, force bool) {
	if a.pendingN == 0 || !(force || a.pendingN >= ackBatch || now.Sub(a.pendingSince) >= ackLinger) {
		return
	}
	if err := a.ch.Ack(a.pendingTag, true); err != nil {
		a.failures++
	}
	a.pendingTag, a.pendingN = 0, 0
}

// sendStragglers acknowledges, one by one, settled tags above the watermark that have waited
// straggleFor (all of them when all is set).
func (a *acker) sendStragglers(now time.Time, all bool) {
	if a.waiting == 0 || (!all && now.Before(a.due)) {
		return
	}
	var oldest time.Time
	for tag, t := range a.settled {
		if !t.outstanding {
			continue
		}
		if all || now.Sub(t.at) >= straggleFor {
			if err := a.ch.Ack(tag, false); err != nil {
				a.failures++
			}
			a.settled[tag] = ackedTag{}
			a.waiting--
		} else if oldest.IsZero() || t.at.Before(oldest) {
			oldest = t.at
		}
	}
	a.due = oldest.Add(straggleFor)
}

// arm sets the timer for the pending acks and the oldest tag still waiting, if any.
func (a *acker) arm(timer *time.Timer) {
	var at time.Time
	if a.pendingN > 0 {
		at = a.pendingSince.Add(ackLinger)
	}
	if a.waiting > 0 && (at.IsZero() || a.due.Before(at)) {
		at = a.due
	}
	if at.IsZero() {
		timer.Stop()
		return
	}
	timer.Reset(max(time.Until(at), 100*time.Microsecond))
}

func (a *acker) warn() {
	if a.failures > 0 {
		a.log.Warn("cannot acknowledge deliveries; the broker will redeliver them", "deliveries", a.failures)
		a.failures = 0
	}
}
