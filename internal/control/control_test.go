package control_test

import (
	"github.com/arqhost/arqhost/internal/syncbuf"

	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/brokertest"
	"github.com/arqhost/arqhost/internal/control"
)

const testURL = "amqp://guest:guest@127.0.0.1:5672/"

// Every test filters its calls by a queue name of its own, so that the servers of other tests
// (or real workers) on the same broker never answer them.

// unique returns a name unique to this run.
func unique(prefix string) string {
	return prefix + "." + strings.ToLower(rand.Text()[:12])
}

// dial connects under name and closes the connection when the test ends.
func dial(t *testing.T, name string) *broker.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := broker.Dial(ctx, testURL, broker.DialOptions{Name: name, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// syncBuffer collects output from several goroutines (internal/syncbuf).
type syncBuffer = syncbuf.Buffer

// serve starts a server that is stopped when the test ends.
func serve(t *testing.T, conn *broker.Conn, id string, queues []string, h control.Handler, logs *syncBuffer) *control.Server {
	t.Helper()
	opt := control.ServerOptions{WorkerID: id, Queues: queues}
	if logs != nil {
		opt.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	s, err := control.Serve(conn, opt, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// echo answers every command with its name and the worker's id.
func echo(id string) control.Handler {
	return func(ctx context.Context, req control.Request) (any, error) {
		return map[string]string{"worker": id, "command": req.Command, "args": string(req.Args)}, nil
	}
}

func call(t *testing.T, conn *broker.Conn, req control.Request, opt control.CallOptions) []control.Reply {
	t.Helper()
	replies, err := control.Call(context.Background(), conn, req, opt)
	if err != nil {
		t.Fatal(err)
	}
	return replies
}

func workerIDs(replies []control.Reply) []string {
	ids := make([]string, len(replies))
	for i, r := range replies {
		ids[i] = r.WorkerID
	}
	return ids
}

func TestTwoServersAnswerOneCall(t *testing.T) {
	t.Parallel()
	q := unique("ctltest.two")
	// Started in reverse order: the replies come back sorted by worker id all the same.
	idA, idB := q+".a", q+".b"
	serve(t, dial(t, "arqtest control "+idB), idB, []string{q, "other"}, echo(idB), nil)
	serve(t, dial(t, "arqtest control "+idA), idA, []string{q}, echo(idA), nil)
	client := dial(t, "arqtest control client "+q)

	replies := call(t, client, control.Request{Command: "modules.list", Queues: []string{q}, Args: json.RawMessage(`{"x":1}`)},
		control.CallOptions{Wait: 5 * time.Second, Expect: 2})
	if got := strings.Join(workerIDs(replies), ","); got != idA+","+idB {
		t.Fatalf("replies from %s, want %s,%s", got, idA, idB)
	}
	for _, r := range replies {
		if r.Error != "" {
			t.Errorf("%s: error %q", r.WorkerID, r.Error)
		}
		var body map[string]string
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("%s: body %s: %v", r.WorkerID, r.Body, err)
		}
		if body["worker"] != r.WorkerID || body["command"] != "modules.list" || body["args"] != `{"x":1}` {
			t.Errorf("%s: body %v", r.WorkerID, body)
		}
	}
	if got := strings.Join(replies[1].Queues, ","); got != q+",other" {
		t.Errorf("%s reported queues %q", idB, got)
	}
}

func TestQueueFilterExcludesServer(t *testing.T) {
	t.Parallel()
	qa, qb := unique("ctltest.filter.a"), unique("ctltest.filter.b")
	conn := dial(t, "arqtest control "+qa)
	serve(t, conn, qa, []string{qa}, echo(qa), nil)
	serve(t, conn, qb, []string{qb}, echo(qb), nil)

	replies := call(t, conn, control.Request{Command: "modules.list", Queues: []string{qa}}, control.CallOptions{Wait: 400 * time.Millisecond})
	if got := strings.Join(workerIDs(replies), ","); got != qa {
		t.Errorf("filter %s: replies from %q, want only %s", qa, got, qa)
	}
	replies = call(t, conn, control.Request{Command: "modules.list", Queues: []string{"nobody", qb, qa}}, control.CallOptions{Wait: 5 * time.Second, Expect: 2})
	if got := strings.Join(workerIDs(replies), ","); got != qa+","+qb {
		t.Errorf("filter %s,%s: replies from %q", qa, qb, got)
	}
}

func TestExpectReturnsEarly(t *testing.T) {
	t.Parallel()
	q := unique("ctltest.expect")
	conn := dial(t, "arqtest control "+q)
	serve(t, conn, q, []string{q}, echo(q), nil)

	start := time.Now()
	replies := call(t, conn, control.Request{Command: "ping", Queues: []string{q}}, control.CallOptions{Wait: 20 * time.Second, Expect: 1})
	if len(replies) != 1 || replies[0].WorkerID != q {
		t.Fatalf("replies %+v", replies)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Call took %v with Expect 1 and one server", d)
	}
}

func TestHandlerErrorAndPanicBecomeReplyError(t *testing.T) {
	t.Parallel()
	q := unique("ctltest.errors")
	conn := dial(t, "arqtest control "+q)
	logs := &syncBuffer{}
	serve(t, conn, q, []string{q}, func(ctx context.Context, req control.Request) (any, error) {
		switch req.Command {
		case "fail":
			return nil, errors.New("no such module")
		case "panic":
			panic("boom")
		case "unencodable":
			return func() {}, nil
		case "nothing":
			return nil, nil
		}
		return "ok", nil
	}, logs)

	for _, tc := range []struct{ command, wantErr, wantBody string }{
		{"fail", "no such module", ""},
		{"panic", "boom", ""},
		{"unencodable", "cannot encode", ""},
		{"nothing", "", ""},
		{"fine", "", `"ok"`}, // the server still answers after a panic
	} {
		replies := call(t, conn, control.Request{Command: tc.command, Queues: []string{q}}, control.CallOptions{Wait: 5 * time.Second, Expect: 1})
		if len(replies) != 1 {
			t.Fatalf("%s: %d replies", tc.command, len(replies))
		}
		r := replies[0]
		if tc.wantErr == "" && r.Error != "" || !strings.Contains(r.Error, tc.wantErr) {
			t.Errorf("%s: error %q, want one containing %q", tc.command, r.Error, tc.wantErr)
		}
		if string(r.Body) != tc.wantBody {
			t.Errorf("%s: body %q, want %q", tc.command, r.Body, tc.wantBody)
		}
	}
	if !strings.Contains(logs.String(), "a control command handler panicked") {
		t.Errorf("the panic was not logged:\n%s", logs)
	}
}

func TestServerSurvivesConnectionLoss(t *testing.T) {
	t.Parallel()
	q := unique("ctltest.reconnect")
	name := "arqtest control " + q
	logs := &syncBuffer{}
	serve(t, dial(t, name), q, []string{q}, echo(q), logs)
	client := dial(t, "arqtest control client "+q)
	req := control.Request{Command: "ping", Queues: []string{q}}

	if replies := call(t, client, req, control.CallOptions{Wait: 5 * time.Second, Expect: 1}); len(replies) != 1 {
		t.Fatalf("%d replies before the connection loss", len(replies))
	}
	if brokertest.CloseConnections(t, name) != 1 {
		t.Fatal("the server's connection was not found")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		replies := call(t, client, req, control.CallOptions{Wait: 300 * time.Millisecond, Expect: 1})
		if len(replies) == 1 && replies[0].WorkerID == q && replies[0].Error == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer within 20 s of the connection loss; logs:\n%s", logs)
		}
	}
	for _, want := range []string{"control channel lost; reconnecting", "answering control commands again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestStopStopsAnswering(t *testing.T) {
	t.Parallel()
	q := unique("ctltest.stop")
	conn := dial(t, "arqtest control "+q)
	var running atomic.Int32
	s := serve(t, conn, q, []string{q}, func(ctx context.Context, req control.Request) (any, error) {
		if req.Command == "block" {
			running.Add(1)
			<-ctx.Done() // Stop cancels it
			running.Add(-1)
			return nil, ctx.Err()
		}
		return "ok", nil
	}, nil)
	req := control.Request{Command: "ping", Queues: []string{q}}
	if replies := call(t, conn, req, control.CallOptions{Wait: 5 * time.Second, Expect: 1}); len(replies) != 1 {
		t.Fatalf("%d replies before Stop", len(replies))
	}
	// A handler still running when Stop is called is cancelled, and Stop waits for it.
	go func() {
		_, _ = control.Call(context.Background(), conn, control.Request{Command: "block", Queues: []string{q}}, control.CallOptions{Wait: 2 * time.Second})
	}()
	for deadline := time.Now().Add(5 * time.Second); running.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the blocking handler never started")
		}
	}
	s.Stop()
	if n := running.Load(); n != 0 {
		t.Errorf("Stop returned with %d handlers running", n)
	}
	s.Stop() // again: nothing happens
	if replies := call(t, conn, req, control.CallOptions{Wait: 400 * time.Millisecond}); len(replies) != 0 {
		t.Errorf("%d replies after Stop: %+v", len(replies), replies)
	}
}

func TestStopAfterConnectionClosed(t *testing.T) {
	t.Parallel()
	q := unique("ctltest.closed")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := broker.Dial(ctx, testURL, broker.DialOptions{Name: "arqtest control " + q})
	if err != nil {
		t.Fatal(err)
	}
	s, err := control.Serve(conn, control.ServerOptions{WorkerID: q, Queues: []string{q}}, echo(q))
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hangs after the connection was closed")
	}
	if _, err := control.Serve(conn, control.ServerOptions{WorkerID: q}, echo(q)); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Serve on a closed connection: %v, want ErrClosed", err)
	}
}

func TestNoServersNoReplies(t *testing.T) {
	t.Parallel()
	q := unique("ctltest.none")
	conn := dial(t, "arqtest control "+q)
	start := time.Now()
	replies, err := control.Call(context.Background(), conn, control.Request{Command: "ping", Queues: []string{q}}, control.CallOptions{Wait: 300 * time.Millisecond, Expect: 1})
	if err != nil || len(replies) != 0 {
		t.Fatalf("replies %+v, err %v; want none and no error", replies, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("Call returned after %v, before the wait was over", d)
	}
}

func TestCallEndsWithContext(t *testing.T) {
	t.Parallel()
	q := unique("ctltest.ctx")
	conn := dial(t, "arqtest control "+q)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := control.Call(ctx, conn, control.Request{Command: "ping", Queues: []string{q}}, control.CallOptions{Wait: 10 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the context's", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Call returned after %v", d)
	}
	if _, err := control.Call(context.Background(), conn, control.Request{}, control.CallOptions{}); err == nil {
		t.Error("a request without a command was sent")
	}
}
