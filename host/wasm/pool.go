package wasm

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errPoolClosed is returned by get after the module was closed.
var errPoolClosed = errors.New("module is closed")

// pool holds the instances of one module. At most max instances exist, each runs one job at a
// time, and min of them are kept instantiated while idle so that a job never waits for
// instantiation in the steady state. A healthy instance goes back to the idle stack (most recently
// used first, whose memory is warm); a broken one is closed and replaced in the background.
type pool struct {
	newInstance func(context.Context) (instance, error)
	onError     func(error)   // reports a failed background instantiation
	setup       time.Duration // the most one instantiation may take
	min         int
	closing     chan struct{} // closed by close, to wake waiters

	slots chan struct{} // one token per instance in use or being created; capacity = max

	mu      sync.Mutex
	idle    []instance
	live    int // instances that exist (idle + in use)
	closed  bool
	filling bool
	drained chan struct{} // closed when closed && live == 0
}

func newPool(min, max int, setup time.Duration, newInstance func(context.Context) (instance, error), onError func(error)) *pool {
	return &pool{
		newInstance: newInstance,
		onError:     onError,
		setup:       setup,
		min:         min,
		closing:     make(chan struct{}),
		slots:       make(chan struct{}, max),
		drained:     make(chan struct{}),
	}
}

// instantiate creates an instance, bounded by the setup time whatever the caller's context: a
// guest whose start-up loops or sleeps must not hold a slot forever.
func (p *pool) instantiate(ctx context.Context) (instance, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.setup)
	defer cancel()
	return p.newInstance(ctx)
}

// seed adds an instance created elsewhere (the one used to validate the module) to the idle stack.
func (p *pool) seed(in instance) {
	p.mu.Lock()
	p.idle = append(p.idle, in)
	p.live++
	p.mu.Unlock()
}

// get returns an instance for the caller's exclusive use, waiting while all are in use.
func (p *pool) get(ctx context.Context) (instance, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-p.closing:
		return nil, errPoolClosed
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errPoolClosed
	}
	if n := len(p.idle); n > 0 {
		in := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return in, nil
	}
	p.live++
	p.mu.Unlock()
	in, err := p.instantiate(ctx)
	if err != nil {
		p.mu.Lock()
		p.live--
		p.checkDrained()
		p.mu.Unlock()
		<-p.slots
		return nil, err
	}
	return in, nil
}

// put returns an instance. A healthy one is kept for the next job; an unhealthy one (after a trap,
// timeout or bad output its memory may be corrupt) is closed and a replacement is made if the pool
// fell below its warm minimum.
func (p *pool) put(in instance, healthy bool) {
	p.mu.Lock()
	if healthy && !p.closed {
		p.idle = append(p.idle, in)
		p.mu.Unlock()
		<-p.slots
		return
	}
	p.live--
	refill := !p.closed && p.live < p.min && !p.filling
	if refill {
		p.filling = true
	}
	p.checkDrained()
	p.mu.Unlock()
	in.close(context.Background())
	<-p.slots
	if refill {
		go p.fill()
	}
}

// warm instantiates idle instances until the pool holds its warm minimum. Each instantiation holds
// a slot, so that instances never outnumber the pool's maximum; when every slot is in use the pool
// is busy enough and warming stops.
func (p *pool) warm(ctx context.Context) error {
	for {
		select {
		case p.slots <- struct{}{}:
		default:
			return nil
		}
		p.mu.Lock()
		if p.closed || p.live >= p.min {
			p.mu.Unlock()
			<-p.slots
			return nil
		}
		p.live++
		p.mu.Unlock()
		in, err := p.instantiate(ctx)
		p.mu.Lock()
		switch {
		case err != nil:
			p.live--
			p.checkDrained()
		case p.closed:
			p.live--
			p.checkDrained()
		default:
			p.idle = append(p.idle, in)
		}
		closed := p.closed
		p.mu.Unlock()
		<-p.slots
		if err != nil {
			return err
		}
		if closed {
			in.close(ctx)
			return nil
		}
	}
}

func (p *pool) fill() {
	err := p.warm(context.Background())
	p.mu.Lock()
	p.filling = false
	p.mu.Unlock()
	if err != nil && p.onError != nil {
		p.onError(err)
	}
}

// releaseIdle closes the idle instances and stops keeping any warm: for a version that has been
// replaced and only serves the jobs it already had.
func (p *pool) releaseIdle(ctx context.Context) {
	p.mu.Lock()
	p.min = 0
	p.closeIdle(ctx) // unlocks
}

// closeIdle takes the idle instances out of the pool and closes them. p.mu must be held; it is
// released before the instances are closed.
func (p *pool) closeIdle(ctx context.Context) {
	idle := p.idle
	p.idle = nil
	p.live -= len(idle)
	p.checkDrained()
	p.mu.Unlock()
	for _, in := range idle {
		in.close(ctx)
	}
}

// close stops the pool from handing out instances, closes the idle ones, and waits until every
// instance in use has been returned and closed, or ctx ends.
func (p *pool) close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.closing)
		p.closeIdle(ctx) // unlocks
	} else {
		p.mu.Unlock()
	}
	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// checkDrained closes drained once the pool is closed and empty. p.mu must be held.
func (p *pool) checkDrained() {
	if p.closed && p.live == 0 {
		select {
		case <-p.drained:
		default:
			close(p.drained)
		}
	}
}

// PoolStats is a snapshot of a module's instances.
type PoolStats struct {
	Live int // instances that exist
	Idle int // of which waiting for a job
	Max  int
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Live: p.live, Idle: len(p.idle), Max: cap(p.slots)}
}
