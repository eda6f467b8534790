package broker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"amqp://guest:guest@127.0.0.1:5672/":          "amqp://guest:xxxxx@127.0.0.1:5672/",
		"amqps://user:s3cr%40t@rabbit.example.com/vh": "amqps://user:xxxxx@rabbit.example.com/vh",
		"amqp://user:p@ss:w/rd@host:5672/%2f":         "amqp://user:xxxxx@host:5672/%2f", // malformed: still hidden
		"amqp://user@host/":                           "amqp://user@host/",
		"amqp://host:5672/":                           "amqp://host:5672/",
		"user:secret@host":                            "user:xxxxx@host",
		"amqp://:onlypassword@host/":                  "amqp://:xxxxx@host/",
		"":                                            "",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDialErrors checks that failures are reported quickly when retrying cannot help, after the
// context when it might, and never with the password.
func TestDialErrors(t *testing.T) {
	t.Parallel()
	const secret = "Sup3rSecretPw"
	cases := []struct {
		name, url, want string
		timeout         time.Duration
	}{
		{"bad credentials", "amqp://guest:" + secret + "@127.0.0.1:5672/", "403", 10 * time.Second},
		{"missing vhost", "amqp://guest:guest@127.0.0.1:5672/arqtest-no-such-vhost", "vhost", 10 * time.Second},
		{"bad url", "amqp://guest:" + secret + "/x@127.0.0.1:notaport/", "invalid RabbitMQ URL", 10 * time.Second},
		{"bad scheme", "http://guest:" + secret + "@127.0.0.1:5672/", "invalid RabbitMQ URL", 10 * time.Second},
		// net/url reads this as password "Sup3r" at host "SecretPw": never dialled, never shown.
		{"@ before / in the password", "amqp://guest:Sup3r@SecretPw/x@127.0.0.1:5672/", "has an @ after the host", 10 * time.Second},
		{"nobody listening", "amqp://guest:" + secret + "@127.0.0.1:1/", "gave up after", 400 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			start := time.Now()
			conn, err := Dial(ctx, c.url, DialOptions{MinBackoff: 20 * time.Millisecond})
			if err == nil {
				conn.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "SecretPw") {
				t.Errorf("error shows the password: %v", err)
			}
			if c.timeout > time.Second && time.Since(start) > 5*time.Second {
				t.Errorf("a permanent failure took %v", time.Since(start))
			}
		})
	}
}

func TestConnBasics(t *testing.T) {
	t.Parallel()
	c := dialTest(t)
	if !c.Connected() {
		t.Fatal("not connected after Dial")
	}
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	_ = ch.Close()
	reconnects := c.NotifyReconnect()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close() // twice is fine
	if _, ok := <-reconnects; ok {
		t.Fatal("NotifyReconnect channel not closed by Close")
	}
	if _, ok := <-c.NotifyReconnect(); ok {
		t.Fatal("NotifyReconnect after Close not closed")
	}
	if _, err := c.Channel(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Channel after Close: %v", err)
	}
	if c.Connected() {
		t.Fatal("connected after Close")
	}
}

// TestReconnect breaks the connection (as a network failure, and as a close from the client
// side) and checks that Conn reconnects, tells its owners, and that the Publisher publishes
// again, including a publish started while the connection was down.
func TestReconnect(t *testing.T) {
	t.Parallel()
	for _, hard := range []bool{true, false} {
		name := "socket closed"
		if !hard {
			name = "connection closed"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := dialTest(t)
			q := testName(t)
			declareTest(t, c, q, QueueOptions{})
			p := NewPublisher(c)
			defer p.Close()
			ctx := ctxTest(t)
			reconnects := c.NotifyReconnect()
			if err := p.Publish(ctx, q, 0, amqp.Publishing{MessageId: "before"}); err != nil {
				t.Fatal(err)
			}
			gen := c.generation()

			if !c.dropForTest(hard) {
				t.Fatal("no connection to drop")
			}
			// Publishes issued while the connection is being replaced wait and go through.
			errs := make(chan error, 2)
			go func() { errs <- p.Publish(ctx, q, 0, amqp.Publishing{MessageId: "during"}) }()
			go func() { errs <- p.Publish(ctx, q, 5*time.Millisecond, amqp.Publishing{MessageId: "during-delayed"}) }()

			select {
			case _, ok := <-reconnects:
				if !ok {
					t.Fatal("NotifyReconnect closed")
				}
			case <-time.After(15 * time.Second):
				t.Fatal("no reconnection within 15 s")
			}
			if !c.Connected() || c.generation() == gen {
				t.Fatalf("connected %v, generation %d (was %d)", c.Connected(), c.generation(), gen)
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatalf("publish during the outage: %v", err)
				}
			}
			if err := p.Publish(ctx, q, 0, amqp.Publishing{MessageId: "after"}); err != nil {
				t.Fatal(err)
			}
			if err := p.PublishBatch(ctx, []Item{{Queue: q, Msg: amqp.Publishing{MessageId: "batch"}}}); err != nil {
				t.Fatal(err)
			}
			deliveries := consume(t, c, q)
			got := map[string]int{}
			for range 5 {
				got[receive(t, deliveries, 10*time.Second).MessageId]++
			}
			for _, id := range []string{"before", "during", "during-delayed", "after", "batch"} {
				if got[id] != 1 {
					t.Errorf("%q arrived %d times", id, got[id])
				}
			}
		})
	}
}

func TestAtAfterHost(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]bool{
		"amqp://u:p@ss/word@host:5672/":     true, // the password "p@ss/word", read as host "ss"
		"amqp://u:p@ss?word@host:5672/":     true, // the password "p@ss?word"
		"amqp://u:pw@host/team@prod":        true, // a vhost with @ must be written team%40prod
		"amqp://u:p@ss@host:5672/":          false,
		"amqp://u:pw@host:5672/team%40prod": false,
		"amqp://host/":                      false,
		"amqps://host:5671/?cacertfile=/run/credentials/arqhost@1.service/ca.pem":      false,
		"amqps://u:pw@host:5671/?cacertfile=/run/credentials/arqhost@1.service/ca.pem": true,
		"redis-sentinel://h1:26379,h2:26379/0?master=m&sentinel_password=p@ss":         false,
		"redis://:pw@[::1]:6379/0":                      false,
		"redis://u:pw@host:6379/0?client_name=w%40host": false,
	} {
		if got := AtAfterHost(url); got != want {
			t.Errorf("AtAfterHost(%q) = %v", url, got)
		}
	}
}
