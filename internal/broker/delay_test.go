package broker

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/arqhost/arqhost/internal/wire"
)

func TestDelayRoute(t *testing.T) {
	t.Parallel()
	zeros := func(n int) string { return strings.Repeat("0.", n) }
	cases := []struct {
		d        time.Duration
		exchange string
		key      string
	}{
		{0, "", "jobs"},
		{-time.Second, "", "jobs"},
		{time.Nanosecond, DelayExchange("jobs", 0), zeros(35) + "1"}, // rounded up to 1 ms
		{time.Millisecond, DelayExchange("jobs", 0), zeros(35) + "1"},
		{1500 * time.Microsecond, DelayExchange("jobs", 1), zeros(34) + "1.0"}, // 2 ms
		{100 * time.Millisecond, DelayExchange("jobs", 6), zeros(29) + "1.1.0.0.1.0.0"},
		{time.Second, DelayExchange("jobs", 9), zeros(26) + "1.1.1.1.1.0.1.0.0.0"},
		{3 * time.Second, DelayExchange("jobs", 11), zeros(24) + "1.0.1.1.1.0.1.1.1.0.0.0"},
		{MaxDelay, DelayExchange("jobs", 35), "1." + strings.Repeat("0.", 34) + "0"},
	}
	for _, c := range cases {
		ex, key, err := DelayRoute("jobs", c.d)
		if err != nil || ex != c.exchange || key != c.key {
			t.Errorf("DelayRoute(%v) = %q, %q, %v\nwant %q, %q", c.d, ex, key, err, c.exchange, c.key)
		}
		if c.d > 0 && len(strings.Split(key, ".")) != Levels {
			t.Errorf("key %q does not have %d words", key, Levels)
		}
	}
	if MaxDelay != 34359738368*time.Millisecond {
		t.Errorf("MaxDelay = %v, want 2^35 ms", MaxDelay)
	}
	for _, d := range []time.Duration{MaxDelay + time.Nanosecond, MaxDelay + time.Millisecond, 2 * MaxDelay, 1<<63 - 1} {
		_, _, err := DelayRoute("jobs", d)
		if err == nil || !strings.Contains(err.Error(), "longer than the maximum") {
			t.Errorf("DelayRoute(%v): err = %v, want too long", d, err)
		}
	}
	if DelayExchange("jobs", 7) != "arqhost.wait.jobs.L7" || DelayQueue("jobs", 7) != "arqhost.wait.jobs.q7" {
		t.Error("delay names changed")
	}
	// The example in delay.go's comment is right.
	if _, key, _ := DelayRoute("q", 100*time.Millisecond); key != "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.1.0.0.1.0.0" {
		t.Errorf("100 ms key %q", key)
	}
}

// topicMatch is AMQP topic matching for the patterns the delay topology uses.
func topicMatch(pattern, key string) bool {
	p, k := strings.Split(pattern, "."), strings.Split(key, ".")
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i == len(p) {
			return j == len(k)
		}
		if p[i] == "#" {
			for jj := j; jj <= len(k); jj++ {
				if match(i+1, jj) {
					return true
				}
			}
			return false
		}
		return j < len(k) && (p[i] == "*" || p[i] == k[j]) && match(i+1, j+1)
	}
	return match(0, 0)
}

// TestDelayWalk follows the bindings Declare creates, on paper, for many delays: a message must
// reach the main queue exactly once, after waiting in exactly the levels of its set bits.
func TestDelayWalk(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	delays := []uint64{1, 2, 3, 100, 1000, 3000, 1<<35 - 1, 1 << 35}
	for range 500 {
		delays = append(delays, 1+r.Uint64N(1<<35))
	}
	for _, ms := range delays {
		ex, key, err := DelayRoute("q", time.Duration(ms)*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		var waited uint64
		level := -1
		for l := range Levels {
			if ex == DelayExchange("q", l) {
				level = l
			}
		}
		arrived := false
		for level >= 0 && !arrived {
			toQueue := topicMatch(levelPattern(level, "1"), key)
			onward := topicMatch(levelPattern(level, "0"), key)
			if toQueue == onward {
				t.Fatalf("%d ms at level %d: queue binding %v, onward binding %v", ms, level, toQueue, onward)
			}
			if toQueue {
				waited += uint64(levelTTL(level))
			}
			if level == 0 {
				arrived = true
			}
			level--
		}
		if !arrived || waited != ms {
			t.Fatalf("%d ms: arrived %v after %d ms", ms, arrived, waited)
		}
	}
}

// TestDelayEndToEnd publishes 3 s, 1 s and 100 ms delays, in that order, and checks that they
// arrive shortest first, never early, and soon after they are due.
func TestDelayEndToEnd(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	declareTest(t, c, q, QueueOptions{})
	deliveries := consume(t, c, q)
	p := NewPublisher(c)
	defer p.Close()
	ctx := ctxTest(t)

	delays := []time.Duration{3 * time.Second, time.Second, 100 * time.Millisecond}
	start := map[string]time.Time{}
	confirmed := map[string]time.Time{}
	for _, d := range delays {
		id := d.String()
		start[id] = time.Now()
		if err := p.Publish(ctx, q, d, amqp.Publishing{MessageId: id, Body: []byte(id), DeliveryMode: amqp.Persistent}); err != nil {
			t.Fatal(err)
		}
		confirmed[id] = time.Now()
	}
	for _, want := range []time.Duration{100 * time.Millisecond, time.Second, 3 * time.Second} {
		m := receive(t, deliveries, 10*time.Second)
		at := time.Now()
		if m.MessageId != want.String() {
			t.Fatalf("got %q, want %q next", m.MessageId, want)
		}
		if early := at.Sub(start[m.MessageId]); early < want {
			t.Errorf("%v delay arrived early, after %v", want, early)
		}
		late := at.Sub(confirmed[m.MessageId]) - want
		t.Logf("%v delay arrived %v after it was due", want, late)
		if late > 300*time.Millisecond {
			t.Errorf("%v delay arrived %v late", want, late)
		}
	}
}

// TestDelayKeepsMessage checks that a persistent message keeps its properties and headers
// through the delay levels, and that a retry carrying the x-death header of its first trip
// still arrives (RabbitMQ's cycle detection would drop it if the Publisher did not remove it).
func TestDelayKeepsMessage(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	declareTest(t, c, q, QueueOptions{})
	deliveries := consume(t, c, q)
	p := NewPublisher(c)
	defer p.Close()
	ctx := ctxTest(t)

	job := &wire.Job{ID: wire.NewID(), Function: "f", Try: 5, EnqueueTime: time.Now().UTC(), Queue: q}
	msg := JobPublishing(job, amqp.Table{"x-custom": "kept", wire.HeaderClientDelayed: "true"})
	if err := p.Publish(ctx, q, 7*time.Millisecond, msg); err != nil { // levels 2, 1 and 0
		t.Fatal(err)
	}
	m := receive(t, deliveries, 10*time.Second)
	if n, ok := wire.RetryCount(m.Headers); !ok || n != 4 {
		t.Errorf("x-retry-count = %v (%T), want 4", m.Headers[wire.HeaderRetryCount], m.Headers[wire.HeaderRetryCount])
	}
	if m.Headers["x-custom"] != "kept" || m.Headers[wire.HeaderClientDelayed] != "true" {
		t.Errorf("headers lost: %v", m.Headers)
	}
	if m.DeliveryMode != amqp.Persistent || m.ContentType != "application/json" || m.MessageId != job.ID || string(m.Body) != string(job.Body()) {
		t.Errorf("properties lost: mode %d type %q id %q", m.DeliveryMode, m.ContentType, m.MessageId)
	}
	deaths, _ := m.Headers["x-death"].([]any)
	if len(deaths) != 3 {
		t.Errorf("x-death has %d entries, want one per level waited in (3): %v", len(deaths), m.Headers["x-death"])
	}

	// A retry published with the delivery's headers, x-death included, as a careless worker would.
	retry := JobPublishing(job, m.Headers)
	if err := p.Publish(ctx, q, 7*time.Millisecond, retry); err != nil {
		t.Fatal(err)
	}
	m2 := receive(t, deliveries, 10*time.Second)
	if m2.MessageId != job.ID {
		t.Fatalf("got %q", m2.MessageId)
	}
	if _, ok := retry.Headers["x-death"]; !ok {
		t.Error("Publish modified the caller's headers")
	}
}

func TestPublishDelayNeedsTopology(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	p := NewPublisher(c)
	defer p.Close()
	ctx := ctxTest(t)
	q := testName(t)
	err := p.Publish(ctx, q, time.Second, amqp.Publishing{Body: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "call Declare") {
		t.Fatalf("delayed publish without topology: %v", err)
	}
	if err := p.Publish(ctx, q, MaxDelay+time.Millisecond, amqp.Publishing{}); err == nil || !strings.Contains(err.Error(), "longer than the maximum") {
		t.Fatalf("too long a delay: %v", err)
	}
	if err := p.Publish(ctx, q, time.Hour, amqp.Publishing{Expiration: "1000"}); err == nil || !strings.Contains(err.Error(), "Expiration") {
		t.Fatalf("a delayed message with an Expiration: %v", err)
	}
	// The publisher still works.
	declareTest(t, c, q, QueueOptions{})
	if err := p.Publish(ctx, q, time.Millisecond, amqp.Publishing{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	// Topology deleted behind the publisher's back: the channel is closed by the broker, the
	// error says why, and the next publish works again once the topology is back.
	ch := testChannel(t, c)
	if err := DeleteAll(ch, q, QueueOptions{}); err != nil {
		t.Fatal(err)
	}
	err = p.Publish(ctx, q, time.Millisecond, amqp.Publishing{Body: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "not declared") {
		t.Fatalf("publish after DeleteAll: %v", err)
	}
	if _, err := Declare(ch, q, QueueOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, q, time.Millisecond, amqp.Publishing{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
}

// With a Lead, a delay is routed that much shorter (a delay within the lead goes straight to the
// queue); PublishExact and a Publisher without Lead route the whole delay.
func TestPublishLead(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	ctx := ctxTest(t)
	q := testName(t)
	declareTest(t, c, q, QueueOptions{})
	ch := testChannel(t, c)
	count := func(queue string) int {
		t.Helper()
		st, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Messages
	}
	p := NewPublisher(c)
	defer p.Close()
	p.Lead = time.Hour
	if err := p.Publish(ctx, q, 10*time.Minute, amqp.Publishing{Body: []byte("within the lead")}); err != nil {
		t.Fatal(err)
	}
	if n := count(q); n != 1 {
		t.Fatalf("a delay within the lead: %d messages in the queue, want 1", n)
	}
	// 10 min = 600,000 ms: highest bit 19 (524,288 ms).
	if err := p.PublishExact(ctx, q, 10*time.Minute, amqp.Publishing{Body: []byte("exact")}); err != nil {
		t.Fatal(err)
	}
	if err := p.PublishBatch(ctx, []Item{{Queue: q, Delay: 90 * time.Minute, Msg: amqp.Publishing{Body: []byte("batch")}}}); err != nil {
		t.Fatal(err)
	}
	if n, lvl := count(q), count(DelayQueue(q, 19)); n != 1 || lvl != 1 {
		t.Fatalf("exact publish: %d in the queue, %d in level 19; want 1 and 1", n, lvl)
	}
	// 90 min - 1 h = 30 min = 1,800,000 ms: highest bit 20.
	if n := count(DelayQueue(q, 20)); n != 1 {
		t.Fatalf("batch item delayed 90 min with a 1 h lead: %d in level 20, want 1", n)
	}
}
