package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/arqhost/arqhost/internal/wire"
)

func TestJobPublishing(t *testing.T) {
	t.Parallel()
	job := wire.NewJob("f", "q", nil, nil)
	job.Try = 3
	in := amqp.Table{"x-custom": "v", wire.HeaderRetryCount: int64(99)}
	m := JobPublishing(job, in)
	if m.DeliveryMode != amqp.Persistent || m.ContentType != "application/json" || m.MessageId != job.ID ||
		string(m.Body) != string(job.Body()) || time.Since(m.Timestamp) > time.Minute {
		t.Fatalf("%+v", m)
	}
	if n, ok := wire.RetryCount(m.Headers); !ok || n != 2 || m.Headers["x-custom"] != "v" {
		t.Fatalf("headers %v", m.Headers)
	}
	if in[wire.HeaderRetryCount] != int64(99) {
		t.Fatal("JobPublishing modified the caller's headers")
	}
	if err := m.Headers.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPublishConfirmed(t *testing.T) {
	t.Parallel()
	c, q, p, ctx := publisherTest(t)

	// Concurrent publishers share the pool.
	const writers, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("%d-%d", w, i)
				if err := p.Publish(ctx, q, 0, amqp.Publishing{MessageId: id, Body: []byte(id)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Confirmed means enqueued: the count is exact at once.
	if d, err := c.Inspect(q, QueueOptions{}); err != nil || d.Ready != writers*each {
		t.Fatalf("Inspect = %+v, %v; want %d ready", d, err, writers*each)
	}
}

func TestPublishUnroutable(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	p := NewPublisher(c)
	defer p.Close()
	ctx := ctxTest(t)
	missing := testName(t)
	err := p.Publish(ctx, missing, 0, amqp.Publishing{Body: []byte("x")})
	if !errors.Is(err, ErrUnroutable) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "NO_ROUTE") {
		t.Fatalf("publish to a missing queue: %v", err)
	}
	// Identical messages to a real and a missing queue at once: each gets its own answer.
	q := testName(t)
	declareTest(t, c, q, QueueOptions{})
	var wg sync.WaitGroup
	var okCount, unroutable, other int
	var mu sync.Mutex
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := q
			if i%2 == 1 {
				target = missing
			}
			err := p.Publish(ctx, target, 0, amqp.Publishing{Body: []byte("same")})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				okCount++
			case errors.Is(err, ErrUnroutable):
				unroutable++
			default:
				other++
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if okCount != 100 || unroutable != 100 || other != 0 {
		t.Fatalf("ok %d, unroutable %d, other %d", okCount, unroutable, other)
	}
}

func TestPublishBatch(t *testing.T) {
	t.Parallel()
	c, q, p, ctx := publisherTest(t)
	deliveries := consume(t, c, q)

	const n = 1000
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{Queue: q, Msg: amqp.Publishing{MessageId: strconv.Itoa(i), Body: []byte("x"), DeliveryMode: amqp.Persistent}}
		if i%100 == 0 {
			items[i].Delay = time.Duration(i/100+1) * time.Millisecond
		}
	}
	start := time.Now()
	if err := p.PublishBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	t.Logf("1000 confirmed in %v", time.Since(start))
	seen := make(map[string]bool, n)
	for len(seen) < n {
		m := receive(t, deliveries, 10*time.Second)
		if seen[m.MessageId] {
			t.Fatalf("%s delivered twice", m.MessageId)
		}
		seen[m.MessageId] = true
	}
}

func TestPublishBatchErrors(t *testing.T) {
	t.Parallel()
	c, q, p, ctx := publisherTest(t)
	missing := testName(t)
	items := []Item{
		{Queue: q, Msg: amqp.Publishing{Body: []byte("0")}},
		{Queue: missing, Msg: amqp.Publishing{Body: []byte("1")}},                // unroutable
		{Queue: q, Delay: 2 * MaxDelay, Msg: amqp.Publishing{Body: []byte("2")}}, // too long
		{Queue: q, Delay: time.Millisecond, Msg: amqp.Publishing{Body: []byte("3")}},
		{Queue: q, Msg: amqp.Publishing{Body: []byte("4"), Headers: amqp.Table{"bad": uint64(1)}}}, // not an AMQP type
		{Queue: missing, Delay: time.Second, Msg: amqp.Publishing{Body: []byte("5")}},              // no delay topology
		{Queue: q, Msg: amqp.Publishing{Body: []byte("6")}},
	}
	err := p.PublishBatch(ctx, items)
	var be *BatchError
	if !errors.As(err, &be) {
		t.Fatalf("PublishBatch: %v", err)
	}
	var failed []int
	for _, f := range be.Failed {
		failed = append(failed, f.Index)
	}
	if fmt.Sprint(failed) != "[1 2 4 5]" || be.Total != 7 {
		t.Fatalf("failed items %v of %d: %v", failed, be.Total, err)
	}
	if !errors.Is(err, ErrUnroutable) || !errors.Is(err, ErrNotDeclared) {
		t.Errorf("BatchError does not unwrap to its causes: %v", err)
	}
	t.Log(err)
	if !strings.HasPrefix(err.Error(), "broker: 4 of 7 messages not confirmed: item 1 (queue ") || !strings.Contains(err.Error(), "and 1 more") {
		t.Errorf("error text: %v", err)
	}
	// The good ones arrived.
	deliveries := consume(t, c, q)
	got := map[string]bool{}
	for range 3 {
		got[string(receive(t, deliveries, 5*time.Second).Body)] = true
	}
	if !got["0"] || !got["3"] || !got["6"] {
		t.Fatalf("got %v", got)
	}
	if err := p.PublishBatch(ctx, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

func TestPublisherClose(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	declareTest(t, c, q, QueueOptions{})
	p := NewPublisher(c)
	ctx := ctxTest(t)
	if err := p.Publish(ctx, q, 0, amqp.Publishing{}); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	_ = p.Close()
	if err := p.Publish(ctx, q, 0, amqp.Publishing{}); !errors.Is(err, ErrPublisherClosed) {
		t.Fatalf("publish after Close: %v", err)
	}
}

// TestPublishChannelError makes the broker close the channel over one message (publishing to an
// internal exchange is refused with 403) and checks that exactly that message fails while the
// messages around it, on the same channel, still arrive.
func TestPublishChannelError(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	good := testName(t)
	declareTest(t, c, good, QueueOptions{})
	bad := testName(t)
	cleanupTopology(t, c, bad, QueueOptions{})
	if err := testChannel(t, c).ExchangeDeclare(DelayExchange(bad, 0), amqp.ExchangeTopic, true, false, true, false, nil); err != nil {
		t.Fatal(err)
	}
	p := NewPublisher(c)
	defer p.Close()
	ctx := ctxTest(t)

	err := p.Publish(ctx, bad, time.Millisecond, amqp.Publishing{Body: []byte("x")})
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.AccessRefused || !strings.Contains(err.Error(), "closed the channel over this message") {
		t.Fatalf("publish to an internal exchange: %v", err)
	}

	var items []Item
	for i := range 101 {
		it := Item{Queue: good, Msg: amqp.Publishing{MessageId: strconv.Itoa(i), Body: []byte("x")}}
		if i == 50 {
			it = Item{Queue: bad, Delay: time.Millisecond, Msg: amqp.Publishing{MessageId: "bad", Body: []byte("x")}}
		}
		items = append(items, it)
	}
	err = p.PublishBatch(ctx, items)
	var be *BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[0].Index != 50 {
		t.Fatalf("batch: %v", err)
	}
	deliveries := consume(t, c, good)
	seen := map[string]bool{}
	for len(seen) < 100 {
		seen[receive(t, deliveries, 10*time.Second).MessageId] = true // at least once: repeats allowed
	}
	if seen["bad"] {
		t.Fatal("the refused message arrived")
	}
	// The pool recovered.
	if err := p.Publish(ctx, good, 0, amqp.Publishing{}); err != nil {
		t.Fatal(err)
	}
}

// Item.Ready is called once per item, in order, before it is published; an item whose Ready fails
// is not published and is reported, and the others go through.
func TestPublishBatchReady(t *testing.T) {
	t.Parallel()
	c, q, p, ctx := publisherTest(t)
	deliveries := consume(t, c, q)
	var calls []int
	notReady := errors.New("record not stored")
	items := make([]Item, 6)
	for i := range items {
		items[i] = Item{Queue: q, Msg: amqp.Publishing{MessageId: strconv.Itoa(i), Body: []byte("x")}, Ready: func() error {
			calls = append(calls, i)
			if i >= 4 {
				return notReady
			}
			return nil
		}}
	}
	err := p.PublishBatch(ctx, items)
	var be *BatchError
	if !errors.As(err, &be) || len(be.Failed) != 2 || be.Failed[0].Index != 4 || !errors.Is(be.Failed[1].Err, notReady) {
		t.Fatalf("PublishBatch: %v", err)
	}
	if fmt.Sprint(calls) != "[0 1 2 3 4 5]" {
		t.Fatalf("Ready calls %v", calls)
	}
	for i := range 4 {
		if m := receive(t, deliveries, 10*time.Second); m.MessageId != strconv.Itoa(i) {
			t.Fatalf("delivery %d: message %s", i, m.MessageId)
		}
	}
	select {
	case m := <-deliveries:
		t.Fatalf("message %s published although its Ready failed", m.MessageId)
	case <-time.After(200 * time.Millisecond):
	}
}

// publisherTest dials, declares a fresh queue and opens a Publisher (closed when the test ends).
func publisherTest(t *testing.T) (*Conn, string, *Publisher, context.Context) {
	t.Helper()
	c := dialTest(t)
	q := testName(t)
	declareTest(t, c, q, QueueOptions{})
	p := NewPublisher(c)
	t.Cleanup(func() { p.Close() })
	return c, q, p, ctxTest(t)
}
