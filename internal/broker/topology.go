package broker

import (
	"errors"
	"fmt"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// QueueOptions shape a queue's topology.
type QueueOptions struct {
	// Quorum makes the main queue and the DLQ quorum queues. The main queue then dead-letters a
	// message delivered more than DeliveryLimit times to the DLQ (at-least-once), instead of
	// redelivering it forever. Default: classic queues without arguments, as the Python library
	// declares them (so that both can share a queue).
	Quorum bool
	// DeliveryLimit is the quorum main queue's x-delivery-limit. Default 20.
	DeliveryLimit int
	// DLQ names the dead-letter queue. Default "{queue}.dlq".
	DLQ string
}

// DefaultDeliveryLimit is the quorum main queue's x-delivery-limit unless QueueOptions say.
const DefaultDeliveryLimit = 20

// Names are the names of everything Declare declares for one queue.
type Names struct {
	Queue          string         // the main queue
	DLQ            string         // the dead-letter queue
	DelayExchanges [Levels]string // level L's exchange, arqhost.wait.{queue}.L{L}
	DelayQueues    [Levels]string // level L's queue, arqhost.wait.{queue}.q{L}
}

// maxQueueName keeps the longest derived name within AMQP's 255-byte limit; that is the legacy
// "arqhost.delay.{queue}.q35" (legacy.go), one byte longer than "arqhost.wait.{queue}.q35".
const maxQueueName = 255 - len(legacyPrefix) - len(".q35")

// ErrNotDeclared is wrapped by Inspect's error when a queue of the topology does not exist.
var ErrNotDeclared = errors.New("not declared")

// NamesFor returns the names of queue's topology.
func NamesFor(queue string, opt QueueOptions) Names {
	n := Names{Queue: queue, DLQ: opt.DLQ}
	if n.DLQ == "" {
		n.DLQ = queue + ".dlq"
	}
	for l := range Levels {
		n.DelayExchanges[l] = DelayExchange(queue, l)
		n.DelayQueues[l] = DelayQueue(queue, l)
	}
	return n
}

func checkQueueName(queue string) error {
	switch {
	case queue == "":
		return errors.New("broker: empty queue name")
	case len(queue) > maxQueueName:
		return fmt.Errorf("broker: queue name %.40q… is %d bytes, more than %d", queue, len(queue), maxQueueName)
	case strings.HasPrefix(queue, "amq."):
		return fmt.Errorf("broker: queue name %q uses the reserved prefix amq.", queue)
	}
	return nil
}

// Declare declares, idempotently, everything queue needs and returns the names: the main queue,
// its DLQ, and the 36 delay levels (exchanges, quorum queues, bindings; see delay.go). The main
// queue and the DLQ are durable; classic with no arguments unless opt.Quorum.
//
// A queue that already exists with other arguments makes the broker refuse the declaration
// (PRECONDITION_FAILED, 406) and close ch; the error names the queue. Every error the broker
// raises closes ch, so declare on a channel of its own.
func Declare(ch *amqp.Channel, queue string, opt QueueOptions) (Names, error) {
	if err := checkQueueName(queue); err != nil {
		return Names{}, err
	}
	n := NamesFor(queue, opt)
	var mainArgs, dlqArgs amqp.Table
	if opt.Quorum {
		limit := opt.DeliveryLimit
		if limit <= 0 {
			limit = DefaultDeliveryLimit
		}
		mainArgs = amqp.Table{
			"x-queue-type":              "quorum",
			"x-delivery-limit":          int64(limit),
			"x-dead-letter-strategy":    "at-least-once",
			"x-overflow":                "reject-publish",
			"x-dead-letter-exchange":    "",
			"x-dead-letter-routing-key": n.DLQ,
		}
		dlqArgs = amqp.Table{"x-queue-type": "quorum"}
	}
	// The DLQ first: with at-least-once dead-lettering, the main queue's dead letters need it.
	if err := declareQueue(ch, n.DLQ, "dead-letter queue", dlqArgs); err != nil {
		return n, err
	}
	if err := declareQueue(ch, n.Queue, "queue", mainArgs); err != nil {
		return n, err
	}
	for l := range Levels {
		if err := ch.ExchangeDeclare(n.DelayExchanges[l], amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			return n, fmt.Errorf("broker: declare delay exchange %q: %w", n.DelayExchanges[l], err)
		}
	}
	for l := range Levels {
		args := amqp.Table{
			"x-queue-type":           "quorum",
			"x-message-ttl":          levelTTL(l),
			"x-dead-letter-strategy": "at-least-once",
			"x-overflow":             "reject-publish",
		}
		if l == 0 {
			args["x-dead-letter-exchange"] = ""
			args["x-dead-letter-routing-key"] = n.Queue
		} else {
			args["x-dead-letter-exchange"] = n.DelayExchanges[l-1]
		}
		if err := declareQueue(ch, n.DelayQueues[l], "delay queue", args); err != nil {
			return n, err
		}
		if err := ch.QueueBind(n.DelayQueues[l], levelPattern(l, "1"), n.DelayExchanges[l], false, nil); err != nil {
			return n, fmt.Errorf("broker: bind delay queue %q: %w", n.DelayQueues[l], err)
		}
		if l == 0 {
			if err := ch.QueueBind(n.Queue, levelPattern(0, "0"), n.DelayExchanges[0], false, nil); err != nil {
				return n, fmt.Errorf("broker: bind queue %q to %q: %w", n.Queue, n.DelayExchanges[0], err)
			}
		} else if err := ch.ExchangeBind(n.DelayExchanges[l-1], levelPattern(l, "0"), n.DelayExchanges[l], false, nil); err != nil {
			return n, fmt.Errorf("broker: bind exchange %q to %q: %w", n.DelayExchanges[l-1], n.DelayExchanges[l], err)
		}
	}
	return n, nil
}

func declareQueue(ch *amqp.Channel, name, what string, args amqp.Table) error {
	if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
			return fmt.Errorf("broker: declare %s %q: it exists with other arguments or another type "+
				"(delete it, or declare it as it is, e.g. with the matching Quorum option): %w", what, name, err)
		}
		return fmt.Errorf("broker: declare %s %q: %w", what, name, err)
	}
	return nil
}

// Depth is what Inspect counts for a queue.
type Depth struct {
	Ready        int // messages ready in the main queue (not counting unacknowledged ones)
	Consumers    int // consumers of the main queue
	Delayed      int // messages waiting in the 36 delay levels
	DeadLettered int // messages in the DLQ
}

// Inspect counts a queue's messages with passive declarations (no management API). A queue of
// the topology that does not exist makes it return an error wrapping ErrNotDeclared; the broker
// then closes ch (a passive declaration of a missing queue is a channel error), so use a channel
// of its own, or Conn.Inspect, which opens one.
//
// The counts are taken queue by queue, not atomically. The levels are read from 35 down to 0 and
// the main queue after them, the way messages move, so a message moving on is counted later
// rather than skipped, possibly twice; only one caught in the broker between two queues can be
// missed: an expired message that a level is dead-lettering is in neither count until the next
// queue has confirmed it, normally a millisecond or so, longer while that queue is unavailable.
// Whoever concludes "nothing left" from Inspect (burst mode) should see that answer twice, a
// little apart.
func Inspect(ch *amqp.Channel, queue string, opt QueueOptions) (Depth, error) {
	if err := checkQueueName(queue); err != nil {
		return Depth{}, err
	}
	n := NamesFor(queue, opt)
	var d Depth
	// In the direction messages move: a message that moves on after its level was counted is
	// counted again further down, never skipped.
	for l := Levels - 1; l >= 0; l-- {
		q, err := inspectQueue(ch, n.DelayQueues[l])
		if err != nil {
			return Depth{}, err
		}
		d.Delayed += q.Messages
	}
	q, err := inspectQueue(ch, n.Queue)
	if err != nil {
		return Depth{}, err
	}
	d.Ready, d.Consumers = q.Messages, q.Consumers
	if q, err = inspectQueue(ch, n.DLQ); err != nil {
		return Depth{}, err
	}
	d.DeadLettered = q.Messages
	return d, nil
}

func inspectQueue(ch *amqp.Channel, name string) (amqp.Queue, error) {
	q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
	if err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return q, fmt.Errorf("broker: queue %q: %w", name, ErrNotDeclared)
		}
		return q, fmt.Errorf("broker: inspect queue %q: %w", name, err)
	}
	return q, nil
}

// Inspect is Inspect on a channel of its own, closed afterwards.
func (c *Conn) Inspect(queue string, opt QueueOptions) (Depth, error) {
	ch, err := c.Channel()
	if err != nil {
		return Depth{}, err
	}
	defer func() { _ = ch.Close() }()
	return Inspect(ch, queue, opt)
}

// DeleteAll deletes queue's whole topology: the main queue, the DLQ, the delay queues and the
// delay exchanges, and the legacy classic levels of earlier builds (legacy.go), with whatever
// messages they hold. Parts that do not exist are skipped. For tests and purge tooling.
func DeleteAll(ch *amqp.Channel, queue string, opt QueueOptions) error {
	if err := checkQueueName(queue); err != nil {
		return err
	}
	n := NamesFor(queue, opt)
	queues := append([]string{n.Queue, n.DLQ}, n.DelayQueues[:]...)
	for _, q := range queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return fmt.Errorf("broker: delete queue %q: %w", q, err)
		}
	}
	for _, x := range n.DelayExchanges {
		if err := ch.ExchangeDelete(x, false, false); err != nil {
			return fmt.Errorf("broker: delete exchange %q: %w", x, err)
		}
	}
	for l := range Levels {
		if _, err := ch.QueueDelete(legacyQueue(queue, l), false, false, false); err != nil {
			return fmt.Errorf("broker: delete queue %q: %w", legacyQueue(queue, l), err)
		}
		if err := ch.ExchangeDelete(legacyExchange(queue, l), false, false); err != nil {
			return fmt.Errorf("broker: delete exchange %q: %w", legacyExchange(queue, l), err)
		}
	}
	return nil
}
