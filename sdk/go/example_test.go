package arq_test

import (
	"fmt"
	"strings"
	"time"

	arq "github.com/arqhost/arqhost/sdk/go"
)

// Sent is what send_email returns.
type Sent struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Status  string `json:"status"`
}

// sendEmail is a task: typed parameters after the Context, a result and an error.
func sendEmail(ctx arq.Context, to, subject, body string) (Sent, error) {
	ctx.Info("sending email", "to", to, "try", ctx.Try)
	if strings.Contains(to, "fail") && ctx.Try <= 2 {
		return Sent{}, arq.Retry(5 * time.Second)
	}
	return Sent{To: to, Subject: subject, Status: "sent"}, nil
}

func init() {
	// In a module this is in package main, next to an empty func main().
	arq.Register("send_email", sendEmail, "to", "subject", "body")
}

// This example registers a task and runs jobs with Invoke, as a unit test of the task would.
func Example() {
	run := func(input string) { fmt.Println(string(arq.Invoke([]byte(input)))) }

	run(`{"function": "send_email", "job_try": 1, "args": ["ann@example.com"], "kwargs": {"subject": "hi", "body": "..."}}`)
	run(`{"function": "send_email", "job_try": 1, "args": ["fail@example.com", "hi", "..."], "kwargs": {}}`)
	run(`{"function": "send_email", "job_try": 3, "args": ["fail@example.com", "hi", "..."], "kwargs": {}}`)
	run(`{"function": "send_email", "job_try": 1, "args": [42, "hi", "..."], "kwargs": {}}`)
	run(`{"function": "send_email", "job_try": 1, "args": ["ann@example.com"], "kwargs": {"subject": "hi"}}`)
	run(`{"function": "send_sms", "job_try": 1, "args": [], "kwargs": {}}`)
	// Output:
	// {"result":{"to":"ann@example.com","subject":"hi","status":"sent"}}
	// {"error":{"kind":"retry","type":"Retry","message":"retry after 5s","retry_after_ms":5000}}
	// {"result":{"to":"fail@example.com","subject":"hi","status":"sent"}}
	// {"error":{"kind":"permanent","type":"TypeError","message":"send_email() argument \"to\" (position 1): expected string, got number"}}
	// {"error":{"kind":"permanent","type":"TypeError","message":"send_email() missing required argument \"body\" (position 3)"}}
	// {"error":{"kind":"permanent","type":"UnknownTask","message":"this module has no task named \"send_sms\""}}
}
