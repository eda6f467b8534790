package host

import (
	"context"
	"errors"
	"time"

	"github.com/arqhost/arqhost/internal/broker"
)

// ErrBurstTimeout is what Run and Stop return when burst mode stopped the worker at its
// BurstTimeout rather than because the work was done.
var ErrBurstTimeout = errors.New("burst timeout reached before the work was done")

// runBurst stops the worker once there is no work left: every queue is empty, no delivery is being
// handled, and no job of its queues waits in the delay topology (a pending retry is work left:
// the original library exited while retries waited, stranding them). Two idle checks in a row are
// needed, so that a delivery on its way from the broker is not missed. BurstTimeout, if set, stops
// the worker anyway.
func (w *Worker) runBurst() {
	var timeout <-chan time.Time
	if w.cfg.BurstTimeout > 0 {
		t := time.NewTimer(w.cfg.BurstTimeout)
		defer t.Stop()
		timeout = t.C
	}
	tick := time.NewTicker(w.cfg.BurstInterval)
	defer tick.Stop()
	idleChecks := 0
	for {
		select {
		case <-w.done:
			return
		case <-timeout:
			w.log.Warn("burst timeout reached; stopping", "timeout", w.cfg.BurstTimeout)
			w.stopErr = ErrBurstTimeout // read only after done is closed
			go w.Stop(context.Background())
			return
		case <-tick.C:
			idle, err := w.idle()
			if err != nil {
				w.log.Warn("burst mode cannot inspect the queues", "err", err)
				idleChecks = 0
				continue
			}
			if !idle {
				idleChecks = 0
				continue
			}
			if idleChecks++; idleChecks >= 2 {
				w.log.Info("burst mode: no work left; stopping")
				go w.Stop(context.Background())
				return
			}
		}
	}
}

// idle reports whether the worker has no work: nothing in flight, its queues empty, nothing delayed.
func (w *Worker) idle() (bool, error) {
	if w.inFlight.Load() > 0 {
		return false, nil
	}
	ch, err := w.conn.Channel()
	if err != nil {
		return false, err
	}
	defer ch.Close()
	for _, q := range w.cfg.Queues {
		d, err := broker.Inspect(ch, q, w.queueOptions())
		if err != nil {
			return false, err
		}
		if d.Ready > 0 || d.Delayed > 0 || !w.retireLegacy(q) {
			return false, nil
		}
	}
	return w.inFlight.Load() == 0, nil
}
