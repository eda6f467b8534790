// Command email is an example arqhost task module: the Go version of the send_email task of the
// arq examples, plus two small tasks used by tests and benchmarks.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o email.wasm ./modules/examples/go/email
package main

import (
	"strings"
	"time"

	arq "github.com/arqhost/arqhost/sdk/go"
)

func init() {
	arq.Register("send_email", sendEmail, "to", "subject", "body")
	arq.Register("noop", noop)
	arq.Register("echo", echo, "value")
}

// Sent is the result of send_email.
type Sent struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	SentAt  string `json:"sent_at"`
}

// sendEmail pretends to send an email. An address containing "fail" fails the first two tries
// with a retry in 5 seconds, like the Python example:
//
//	async def send_email(ctx, to, subject, body):
//	    if "fail" in to and ctx.job_try <= 2: raise Retry(defer=5)
//	    return {"to": to, "subject": subject, "sent_at": ...}
func sendEmail(ctx arq.Context, to, subject, body string) (Sent, error) {
	ctx.Info("sending email", "to", to, "subject", subject, "bytes", len(body), "try", ctx.Try)
	if strings.Contains(to, "fail") && ctx.Try <= 2 {
		ctx.Warn("mail server unavailable, retrying", "to", to)
		return Sent{}, arq.Retry(5 * time.Second)
	}
	return Sent{To: to, Subject: subject, SentAt: time.Now().UTC().Format(time.RFC3339)}, nil
}

// noop does nothing; its result is null. It measures the cost of a job round trip.
func noop(ctx arq.Context) error { return nil }

// echo returns its argument unchanged.
func echo(ctx arq.Context, value any) (any, error) { return value, nil }

func main() {}
