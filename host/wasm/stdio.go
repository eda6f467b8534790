package wasm

import "sync"

// captureBuffer keeps the first and the last bytes a guest writes to stdout and stderr during a
// job. The guest's output goes here instead of the host's, so that a trap can be explained (a Go
// guest's "fatal error: out of memory" comes first, its goroutine dump after) without a guest
// flooding the host.
type captureBuffer struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte // a ring of the last bytes, once head is full
	maxHead int
	maxTail int
	dropped bool // bytes were lost between head and tail
}

func newCaptureBuffer(headBytes, tailBytes int) *captureBuffer {
	return &captureBuffer{maxHead: headBytes, maxTail: tailBytes}
}

func (c *captureBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if room := c.maxHead - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	if len(p) >= c.maxTail {
		c.dropped = c.dropped || len(c.tail) > 0 || len(p) > c.maxTail
		c.tail = append(c.tail[:0], p[len(p)-c.maxTail:]...)
		return n, nil
	}
	if over := len(c.tail) + len(p) - c.maxTail; over > 0 {
		c.dropped = true
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	c.tail = append(c.tail, p...)
	return n, nil
}

// take returns what was captured since the last take and empties the buffer.
func (c *captureBuffer) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := string(c.head)
	if c.dropped {
		s += "\n…\n"
	}
	s += string(c.tail)
	c.head, c.tail, c.dropped = c.head[:0], c.tail[:0], false
	return s
}

func (c *captureBuffer) reset() { _ = c.take() }
