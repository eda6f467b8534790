package broker

import (
	"errors"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// declareLegacy declares queue's classic delay levels as builds before the quorum levels did.
func declareLegacy(t *testing.T, ch *amqp.Channel, queue string) {
	t.Helper()
	for l := range Levels {
		if err := ch.ExchangeDeclare(legacyExchange(queue, l), amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	for l := range Levels {
		args := amqp.Table{"x-message-ttl": levelTTL(l), "x-dead-letter-exchange": ""}
		if l == 0 {
			args["x-dead-letter-routing-key"] = queue
		} else {
			args["x-dead-letter-exchange"] = legacyExchange(queue, l-1)
		}
		if _, err := ch.QueueDeclare(legacyQueue(queue, l), true, false, false, false, args); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(legacyQueue(queue, l), levelPattern(l, "1"), legacyExchange(queue, l), false, nil); err != nil {
			t.Fatal(err)
		}
		var err error
		if l == 0 {
			err = ch.QueueBind(queue, levelPattern(0, "0"), legacyExchange(queue, 0), false, nil)
		} else {
			err = ch.ExchangeBind(legacyExchange(queue, l-1), levelPattern(l, "0"), legacyExchange(queue, l), false, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// exists tells whether a queue (or, with exchange, an exchange) exists, by a passive declaration
// on a channel of its own.
func exists(t *testing.T, c *Conn, name string, exchange bool) bool {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ch.Close() }()
	if exchange {
		err = ch.ExchangeDeclarePassive(name, amqp.ExchangeTopic, true, false, false, false, nil)
	} else {
		_, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
	}
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// TestRetireLegacyLevels: a delayed job waiting in the classic levels of an earlier build still
// reaches the main queue, and the levels are deleted from the top down as they empty.
func TestRetireLegacyLevels(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	q := testName(t)
	declareTest(t, c, q, QueueOptions{})
	ch := testChannel(t, c)
	declareLegacy(t, ch, q)
	t.Cleanup(func() { // whatever a failed run left
		ch, err := c.Channel()
		if err != nil {
			return
		}
		defer ch.Close()
		for l := range Levels {
			_, _ = ch.QueueDelete(legacyQueue(q, l), false, false, false)
			_ = ch.ExchangeDelete(legacyExchange(q, l), false, false)
		}
	})
	// 1,500 ms = levels 10, 8, 7, 6, 4, 3 and 2 of the legacy topology.
	if err := ch.Publish(legacyExchange(q, 10), delayKey(1500), true, false, amqp.Publishing{MessageId: "old", DeliveryMode: amqp.Persistent}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the message waits in legacy level 10 (1,024 ms)

	retired, err := c.RetireLegacyLevels(q)
	if err != nil || retired {
		t.Fatalf("RetireLegacyLevels with a job in level 10 = %v, %v; want false, nil", retired, err)
	}
	if exists(t, c, legacyQueue(q, 11), false) {
		t.Error("legacy level 11 (empty, above the job) was not deleted")
	}
	for _, l := range []int{10, 9, 0} {
		if !exists(t, c, legacyQueue(q, l), false) {
			t.Errorf("legacy level %d was deleted while the job still has to pass it", l)
		}
	}
	if !exists(t, c, legacyExchange(q, 0), true) {
		t.Error("the legacy exchanges were deleted while a legacy queue remains")
	}

	deliveries := consume(t, c, q)
	if m := receive(t, deliveries, 10*time.Second); m.MessageId != "old" {
		t.Fatalf("got %q", m.MessageId)
	}
	retired, err = c.RetireLegacyLevels(q)
	if err != nil || !retired {
		t.Fatalf("RetireLegacyLevels once drained = %v, %v; want true, nil", retired, err)
	}
	for l := range Levels {
		if exists(t, c, legacyQueue(q, l), false) || exists(t, c, legacyExchange(q, l), true) {
			t.Fatalf("legacy level %d is left", l)
		}
	}
	// The quorum levels are untouched and work.
	p := NewPublisher(c)
	defer p.Close()
	if err := p.Publish(ctxTest(t), q, 20*time.Millisecond, amqp.Publishing{MessageId: "new"}); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, deliveries, 10*time.Second); m.MessageId != "new" {
		t.Fatalf("got %q", m.MessageId)
	}
	if retired, err := c.RetireLegacyLevels(testName(t)); err != nil || !retired {
		t.Fatalf("RetireLegacyLevels where there never were legacy levels = %v, %v", retired, err)
	}
}
