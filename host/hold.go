package host

import "time"

// Early jobs. Publishers route a delayed job to arrive broker.DefaultLead before its defer_until
// (the delay levels add tens of milliseconds under load, so an exact route would arrive late);
// the worker holds a job that arrives early, unacknowledged, until it is due, and then runs it,
// to the millisecond. A job held counts against the prefetch, so at most half the prefetch is
// held at once; a job that arrives early beyond that, or more than holdFor before it is due, goes
// back into the delay levels for exactly the rest of its wait, as before.

type holdResult int

const (
	held    holdResult = iota // the job is due now
	notHeld                   // the worker cannot hold it: send it back to the delay levels
	stopped                   // the worker began to stop while holding it
)

// hold waits until a job that is due in wait may run.
func (w *Worker) hold(wait time.Duration) holdResult {
	if wait > holdFor {
		return notHeld
	}
	if n := w.held.Add(1); n > int64(max(w.cfg.Prefetch/2, 1)) {
		w.held.Add(-1)
		return notHeld
	}
	defer w.held.Add(-1)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return held
	case <-w.life.Done():
		return stopped
	}
}
