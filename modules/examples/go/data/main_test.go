package main

import (
	"fmt"
	"strings"
	"testing"

	arq "github.com/arqhost/arqhost/sdk/go"
)

func invoke(function, args, kwargs string) string {
	return string(arq.Invoke([]byte(fmt.Sprintf(
		`{"job_id":"j1","function":%q,"job_try":1,"enqueue_time":"2026-01-15T10:30:00Z","queue_name":"q","worker_id":"w",`+
			`"args":%s,"kwargs":%s}`, function, args, kwargs))))
}

func TestTasks(t *testing.T) {
	tests := []struct {
		function, args, kwargs string
		want                   string // prefix of the output
	}{
		{"process_data", `[{"b":1,"a":[2]}]`, `{}`, `{"result":{"processed":true,"count":2,"keys":["a","b"],"processed_at":"`},
		{"process_data", `[]`, `{"data":{"x":null}}`, `{"result":{"processed":true,"count":1,"keys":["x"],`},
		{"process_data", `[{}]`, `{}`, `{"error":{"kind":"permanent","type":"ValueError","message":"data must not be empty"}}`},
		{"process_data", `[[1,2]]`, `{}`,
			`{"error":{"kind":"permanent","type":"TypeError","message":"process_data() argument \"data\" (position 1): expected map[string]any, got array"}}`},
		{"word_count", `[]`, `{"text":"The cat saw the other cat.","min_len":3}`, `{"result":{"words":6,"unique":4,"longest":"other"}}`},
		{"word_count", `["a bb ccc", 2]`, `{}`, `{"result":{"words":2,"unique":2,"longest":"ccc"}}`},
		{"word_count", `[]`, `{}`, `{"result":{"words":0,"unique":0,"longest":""}}`},
		{"word_count", `[]`, `{"text":"x","min_len":-1}`, `{"error":{"kind":"permanent","type":"ValueError","message":"min_len must not be negative"}}`},
		{"word_count", `[]`, `{"text":"x","minlen":1}`,
			`{"error":{"kind":"permanent","type":"TypeError","message":"word_count() got an unexpected keyword argument \"minlen\""}}`},
	}
	for _, tt := range tests {
		if got := invoke(tt.function, tt.args, tt.kwargs); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s(%s, %s):\ngot  %s\nwant %s...", tt.function, tt.args, tt.kwargs, got, tt.want)
		}
	}
}
