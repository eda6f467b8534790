package broker

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestNamesFor(t *testing.T) {
	t.Parallel()
	n := NamesFor("jobs", QueueOptions{})
	if n.Queue != "jobs" || n.DLQ != "jobs.dlq" || n.DelayExchanges[0] != "arqhost.wait.jobs.L0" || n.DelayQueues[35] != "arqhost.wait.jobs.q35" {
		t.Fatalf("%+v", n)
	}
	if n := NamesFor("jobs", QueueOptions{DLQ: "jobs_dlq"}); n.DLQ != "jobs_dlq" {
		t.Fatalf("custom DLQ: %q", n.DLQ)
	}
	for _, bad := range []string{"", "amq.jobs", strings.Repeat("q", maxQueueName+1)} {
		if _, err := Declare(nil, bad, QueueOptions{}); err == nil {
			t.Errorf("Declare(%.20q) accepted a bad name", bad)
		}
	}
	if len(legacyQueue(strings.Repeat("q", maxQueueName), 35)) != 255 || len(DelayQueue(strings.Repeat("q", maxQueueName), 35)) > 255 {
		t.Error("the longest queue name does not make a 255-byte legacy delay queue name")
	}
}

func TestDeclareIdempotent(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	n1 := declareTest(t, c, q, QueueOptions{})
	n2, err := Declare(testChannel(t, c), q, QueueOptions{})
	if err != nil {
		t.Fatalf("second Declare: %v", err)
	}
	if n1 != n2 {
		t.Fatal("names differ")
	}
	d, err := c.Inspect(q, QueueOptions{})
	if err != nil || d != (Depth{}) {
		t.Fatalf("Inspect = %+v, %v", d, err)
	}
}

// TestDeclareOverPythonQueues simulates queues the Python library declared (classic, durable,
// no arguments) and a message it enqueued: Declare must accept them and keep the message.
func TestDeclareOverPythonQueues(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	cleanupTopology(t, c, q, QueueOptions{})
	ch := testChannel(t, c)
	for _, name := range []string{q, q + ".dlq"} {
		if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	body := `{"job_id": "abc", "function": "f", "args": [], "kwargs": {}, "job_try": 1}`
	if err := ch.Publish("", q, false, false, amqp.Publishing{Body: []byte(body), Headers: amqp.Table{"x-retry-count": int32(0)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Declare(testChannel(t, c), q, QueueOptions{}); err != nil {
		t.Fatalf("Declare over the Python library's queues: %v", err)
	}
	d, err := c.Inspect(q, QueueOptions{})
	if err != nil || d.Ready != 1 {
		t.Fatalf("Inspect = %+v, %v; want the Python message kept", d, err)
	}
}

func TestDeclareQuorum(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	opt := QueueOptions{Quorum: true, DeliveryLimit: 2}
	declareTest(t, c, q, opt)
	if _, err := Declare(testChannel(t, c), q, opt); err != nil {
		t.Fatalf("second Declare: %v", err)
	}
	// A classic declaration of the same name is refused, and the error says which queue.
	_, err := Declare(testChannel(t, c), q, QueueOptions{})
	var ae *amqp.Error
	if err == nil || !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed || !strings.Contains(err.Error(), fmt.Sprintf("%q", q+".dlq")) {
		t.Fatalf("classic over quorum: %v", err)
	}

	// A message redelivered more than the delivery limit lands in the DLQ instead of vanishing.
	p := NewPublisher(c)
	defer p.Close()
	if err := p.Publish(ctxTest(t), q, 0, amqp.Publishing{MessageId: "poison", Body: []byte("x"), DeliveryMode: amqp.Persistent}); err != nil {
		t.Fatal(err)
	}
	ch := testChannel(t, c)
	deliveries, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range opt.DeliveryLimit + 1 {
		m := receive(t, deliveries, 10*time.Second)
		if err := m.Nack(false, true); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.Inspect(q, opt)
		if err != nil {
			t.Fatal(err)
		}
		if d.DeadLettered == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("poison message not in the DLQ: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	m, ok, err := testChannel(t, c).Get(q+".dlq", true)
	if err != nil || !ok || m.MessageId != "poison" {
		t.Fatalf("DLQ message: %v %v %q", ok, err, m.MessageId)
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	opt := QueueOptions{DLQ: q + "-dead"}
	n := declareTest(t, c, q, opt)
	p := NewPublisher(c)
	defer p.Close()
	ctx := ctxTest(t)
	var items []Item
	for range 3 {
		items = append(items, Item{Queue: q, Msg: amqp.Publishing{Body: []byte("now")}})
	}
	items = append(items,
		Item{Queue: q, Delay: time.Minute, Msg: amqp.Publishing{Body: []byte("later")}},
		Item{Queue: q, Delay: 20 * time.Minute, Msg: amqp.Publishing{Body: []byte("later")}},
		Item{Queue: n.DLQ, Msg: amqp.Publishing{Body: []byte("dead")}},
	)
	if err := p.PublishBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Inspect(q, opt); err != nil || d != (Depth{Ready: 3, Delayed: 2, DeadLettered: 1}) {
		t.Fatalf("Inspect = %+v, %v", d, err)
	}
	ch := testChannel(t, c)
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, deliveries, 5*time.Second) // unacknowledged: no longer ready
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := Inspect(testChannel(t, c), q, opt)
		if err != nil {
			t.Fatal(err)
		}
		if d == (Depth{Ready: 2, Consumers: 1, Delayed: 2, DeadLettered: 1}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Inspect with a consumer = %+v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A queue that was never declared.
	missing := testName(t)
	_, err = Inspect(testChannel(t, c), missing, QueueOptions{})
	if !errors.Is(err, ErrNotDeclared) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Inspect of a missing queue: %v", err)
	}
	if _, err := c.Inspect(missing, QueueOptions{}); !errors.Is(err, ErrNotDeclared) {
		t.Fatalf("Conn.Inspect of a missing queue: %v", err)
	}
	// A main queue without its delay levels (declared by the Python library alone).
	plain := testName(t)
	cleanupTopology(t, c, plain, QueueOptions{})
	pch := testChannel(t, c)
	for _, name := range []string{plain, plain + ".dlq"} {
		if _, err := pch.QueueDeclare(name, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Inspect(plain, QueueOptions{}); !errors.Is(err, ErrNotDeclared) || !strings.Contains(err.Error(), DelayQueue(plain, Levels-1)) {
		t.Fatalf("Inspect without delay levels: %v", err)
	}
}

func TestDeleteAll(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	declareTest(t, c, q, QueueOptions{Quorum: true})
	ch := testChannel(t, c)
	if err := DeleteAll(ch, q, QueueOptions{Quorum: true}); err != nil {
		t.Fatal(err)
	}
	if err := DeleteAll(ch, q, QueueOptions{}); err != nil {
		t.Fatalf("DeleteAll of a deleted topology: %v", err)
	}
	if _, err := c.Inspect(q, QueueOptions{}); !errors.Is(err, ErrNotDeclared) {
		t.Fatalf("Inspect after DeleteAll: %v", err)
	}
	err := testChannel(t, c).ExchangeDeclarePassive(DelayExchange(q, 35), amqp.ExchangeTopic, true, false, false, false, nil)
	if err == nil {
		t.Fatal("delay exchange survived DeleteAll")
	}
}
