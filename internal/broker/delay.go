// Delayed messages without a plugin and without head-of-line blocking.
//
// RabbitMQ expires messages only at the head of a queue. The Python library puts every delay into
// one queue with per-message TTLs, so a 1 s retry waits behind a 1 h delay (NOTES.md, defect 2).
// arqhost instead gives every target queue {q} 36 delay levels, L = 0..35, each a queue whose
// messages all have the same TTL, 2^L ms: in such a queue the head always expires first, so
// nothing ever waits behind a longer delay. This is the scheme NServiceBus uses for RabbitMQ.
//
// Per level L, Declare creates
//
//	exchange arqhost.wait.{q}.L{L}   topic, durable
//	queue    arqhost.wait.{q}.q{L}   quorum, x-message-ttl = 2^L ms, dead-lettering at-least-once
//	                                 (x-overflow reject-publish, which that needs) to exchange L-1
//	                                 with the routing key kept (level 0: to exchange "" with
//	                                 routing key {q}, the main queue)
//
// A delay of d ms travels as its 36 bits, written high to low as the words "0"/"1" of the routing
// key: 100 ms = 0b1100100 is "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.1.0.0.1.0.0".
// Word number 35-L holds bit L. Exchange L routes on that word: "1" to its own queue qL (the
// message waits 2^L ms, then is dead-lettered to exchange L-1), "0" straight to exchange L-1 (an
// exchange-to-exchange binding); exchange 0 hands the "0" case to the main queue. So the message
// walks down the levels and spends 2^L ms in exactly the levels whose bit is set:
//
//	 publish ──▶ [L6] ─"1"─▶ (q6: 64 ms) ─┐        100 ms = 64 + 32 + 4
//	              │"0"                    │ expired: dead-lettered with the same routing key
//	              ▼◀──────────────────────┘
//	            [L5] ─"1"─▶ (q5: 32 ms) ─┐
//	              │"0"                   │
//	              ▼◀─────────────────────┘
//	            [L4] ─"0"─▶ [L3] ─"0"─▶ [L2] ─"1"─▶ (q2: 4 ms) ─┐
//	                                      │"0"                  │
//	                                      ▼◀────────────────────┘
//	                                    [L1] ─"0"─▶ [L0] ─"0"─▶ {q}   the main queue
//
//	[Ln] exchange arqhost.wait.{q}.Ln     (qn: …) queue arqhost.wait.{q}.qn
//
// The binding patterns are "*." repeated 35-L times followed by "1.#" (queue qL) or "0.#"
// (exchange L-1, or the main queue at L = 0). A message enters at the exchange of the highest set
// bit of its delay (DelayRoute); the bits above are all 0, so entering at L35 would only add
// exchange hops. Delays are at most 2^35 ms (about 1.09 years, MaxDelay). Each level a message
// waits in adds the broker's expiry latency (a few milliseconds), never less than its TTL.
//
// Because every level queue belongs to one target queue, Inspect can count a queue's pending
// delayed jobs (the sum over its 36 level queues), which burst mode needs to know whether work
// is still coming.
//
// The level queues are quorum queues with at-least-once dead-lettering: a message leaves a level
// only once the queue it moves into has confirmed it, so a delayed job survives a broker restart
// at any point of its walk, and one whose next queue is not there yet (a queue still recovering)
// waits and is retried. Classic queues dead-letter at most once: a message expiring while the
// next queue stops or recovers is dropped, and RabbitMQ stop_app/start_app with delayed jobs in
// flight lost 6% to 57% of them in our runs (RATIONALE.md, "Delays"). At-least-once may deliver a
// job twice after such a restart; the job's record decides, and a worker acks a second delivery
// of a job it is already handling (host/handling.go). Quorum message TTLs need RabbitMQ 3.10 or later.
//
// Earlier builds declared classic levels under the names arqhost.delay.{q}.L{L} and .q{L}. Being
// a separate topology, they still drain into the main queue by themselves; RetireLegacyLevels
// deletes them once they are empty (legacy.go).
//
// Dead-lettering drops a message that would enter a queue it already passed through with the
// same reason (RabbitMQ's cycle detection reads the x-death header). A retry re-published with
// the x-death header of its previous trip through the levels would vanish, so the Publisher
// removes x-death and the x-first-death-*/x-last-death-* headers from delayed messages.

package broker

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Levels is the number of delay levels of a queue.
const Levels = 36

// MaxDelay is the longest delay DelayRoute accepts: 2^35 ms, about 1.09 years.
const MaxDelay = (1 << (Levels - 1)) * time.Millisecond

// DelayExchange is the name of a queue's level-L delay exchange.
func DelayExchange(queue string, level int) string {
	return "arqhost.wait." + queue + ".L" + strconv.Itoa(level)
}

// DelayQueue is the name of a queue's level-L delay queue.
func DelayQueue(queue string, level int) string {
	return "arqhost.wait." + queue + ".q" + strconv.Itoa(level)
}

// DelayRoute tells where to publish a message for queue so that it arrives after d: an exchange
// and routing key of the delay topology, or for d <= 0 the default exchange "" and routing key
// queue. d is rounded up to whole milliseconds; longer than MaxDelay is an error.
func DelayRoute(queue string, d time.Duration) (exchange, routingKey string, err error) {
	if d <= 0 {
		return "", queue, nil
	}
	if d > MaxDelay {
		return "", "", fmt.Errorf("broker: delay %v is longer than the maximum %v (2^35 ms, about 1.09 years)", d, MaxDelay)
	}
	ms := uint64((d + time.Millisecond - 1) / time.Millisecond)
	return DelayExchange(queue, bits.Len64(ms)-1), delayKey(ms), nil
}

// delayKey writes the 36 bits of ms high to low as "0"/"1" words.
func delayKey(ms uint64) string {
	var b strings.Builder
	b.Grow(2*Levels - 1)
	for l := Levels - 1; l >= 0; l-- {
		if ms>>l&1 == 1 {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
		if l > 0 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// levelPattern is the topic pattern that matches bit (level L) = word ("0" or "1").
func levelPattern(level int, word string) string {
	return strings.Repeat("*.", Levels-1-level) + word + ".#"
}

// levelTTL is the TTL of level L's queue in milliseconds.
func levelTTL(level int) int64 { return int64(1) << level }
