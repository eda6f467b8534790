package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const testURL = "amqp://guest:guest@127.0.0.1:5672/"

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// testName returns a queue name unique to the test and to this run.
func testName(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Trim(unsafeName.ReplaceAllString(t.Name(), "_"), "_")
	if len(name) > 60 {
		name = name[:60]
	}
	return "arqtest." + name + "." + hex.EncodeToString(b[:])
}

// dialTest connects and closes the connection when the test ends.
func dialTest(t *testing.T) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := Dial(ctx, testURL, DialOptions{Name: "arqtest " + t.Name(), MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testChannel opens a channel that is closed when the test ends, waiting for a connection.
func testChannel(t *testing.T, c *Conn) *amqp.Channel {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ch, _, err := c.channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	return ch
}

// declareTest declares queue's topology and deletes it when the test ends (before the
// connection is closed: cleanups run last-registered first).
func declareTest(t *testing.T, c *Conn, queue string, opt QueueOptions) Names {
	t.Helper()
	cleanupTopology(t, c, queue, opt)
	n, err := Declare(testChannel(t, c), queue, opt)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// cleanupTopology deletes queue's whole topology when the test ends.
func cleanupTopology(t *testing.T, c *Conn, queue string, opt QueueOptions) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		ch, _, err := c.channel(ctx)
		if err != nil {
			t.Errorf("cleanup of %q: %v", queue, err)
			return
		}
		defer ch.Close()
		if err := DeleteAll(ch, queue, opt); err != nil {
			t.Errorf("cleanup of %q: %v", queue, err)
		}
	})
}

// consume consumes queue (auto-ack) on a channel of its own.
func consume(t *testing.T, c *Conn, queue string) <-chan amqp.Delivery {
	t.Helper()
	ch := testChannel(t, c)
	d, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// receive waits for the next delivery.
func receive(t *testing.T, d <-chan amqp.Delivery, within time.Duration) amqp.Delivery {
	t.Helper()
	select {
	case m, ok := <-d:
		if !ok {
			t.Fatal("consumer channel closed")
		}
		return m
	case <-time.After(within):
		t.Fatalf("no message within %v", within)
	}
	panic("unreachable")
}

// ctxTest is a context that ends with the test or after a minute.
func ctxTest(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
