package broker

import (
	"errors"
	"fmt"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Builds before the quorum delay levels declared classic ones, under other names:
//
//	exchange arqhost.delay.{q}.L{L}   topic, durable, routing as the levels of delay.go
//	queue    arqhost.delay.{q}.q{L}   classic, x-message-ttl = 2^L ms, dead-lettering (at most
//	                                  once) to arqhost.delay.{q}.L{L-1}, level 0 to the main queue
//
// Nothing publishes into them any more, and what they still hold drains into the main queue as
// it falls due, so they need no migration, only removal once empty.
const legacyPrefix = "arqhost.delay."

func legacyExchange(queue string, level int) string {
	return legacyPrefix + queue + ".L" + strconv.Itoa(level)
}

func legacyQueue(queue string, level int) string {
	return legacyPrefix + queue + ".q" + strconv.Itoa(level)
}

// RetireLegacyLevels deletes queue's classic delay levels of earlier builds (see above) once they
// hold nothing, and reports whether none is left. It deletes from the longest level down and
// stops at the first one that still holds messages, because the levels below it receive them; a
// later call deletes the rest. The exchanges go once every legacy queue is gone. Where there never
// were legacy levels it deletes nothing and reports true: deleting a queue or exchange that does
// not exist succeeds.
//
// A level that still holds messages makes the broker refuse the deletion and close ch
// (PRECONDITION_FAILED), so use a channel of its own, or Conn.RetireLegacyLevels.
func RetireLegacyLevels(ch *amqp.Channel, queue string) (retired bool, err error) {
	if err := checkQueueName(queue); err != nil {
		return false, err
	}
	for l := Levels - 1; l >= 0; l-- {
		if _, err := ch.QueueDelete(legacyQueue(queue, l), false, true, false); err != nil {
			var ae *amqp.Error
			if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
				return false, nil // not empty yet
			}
			return false, fmt.Errorf("broker: delete legacy delay queue %q: %w", legacyQueue(queue, l), err)
		}
	}
	for l := range Levels {
		if err := ch.ExchangeDelete(legacyExchange(queue, l), false, false); err != nil {
			return false, fmt.Errorf("broker: delete legacy delay exchange %q: %w", legacyExchange(queue, l), err)
		}
	}
	return true, nil
}

// RetireLegacyLevels is RetireLegacyLevels on a channel of its own, closed afterwards.
func (c *Conn) RetireLegacyLevels(queue string) (bool, error) {
	ch, err := c.Channel()
	if err != nil {
		return false, err
	}
	defer func() { _ = ch.Close() }()
	return RetireLegacyLevels(ch, queue)
}
