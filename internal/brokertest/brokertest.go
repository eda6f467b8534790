// Package brokertest helps tests simulate RabbitMQ failures on the local broker.
package brokertest

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// CloseConnections makes the local broker close every connection whose client-provided name is
// name (CONNECTION_FORCED, as when a node goes down), and returns how many it closed. It needs
// rabbitmqctl on the same machine as the broker; without it the test fails.
//
// Connections still opening (no client properties yet) or closing meanwhile are passed over.
func CloseConnections(t testing.TB, name string) int {
	t.Helper()
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Fatal("rabbitmqctl is not installed: these tests close broker connections through it, on the machine that runs RabbitMQ")
	}
	expr := fmt.Sprintf(`length([rabbit_networking:close_connection(P, "arqhost test: simulated failure") || `+
		`P <- rabbit_networking:connections(), `+
		`case catch rabbit_networking:connection_info(P, [client_properties]) of `+
		`[{client_properties, L}] when is_list(L) -> lists:member({<<"connection_name">>, longstr, <<%q>>}, L); `+
		`_ -> false end]).`, name)
	out, err := exec.Command("rabbitmqctl", "eval", expr).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl eval: %v: %s", err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("rabbitmqctl eval said %q", out)
	}
	return n
}
