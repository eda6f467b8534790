package arq_test

import (
	"fmt"
	"strings"

	arq "github.com/arqhost/arqhost/sdk/go"
)

// WordCountArgs holds the arguments of word_count: kwargs set fields by JSON name, positional
// args set them in declaration order.
type WordCountArgs struct {
	Text   string `json:"text"`
	MinLen int    `json:"min_len"`
}

// WordCount is word_count's result.
type WordCount struct {
	Words int `json:"words"`
}

// InputError is an error type whose reported type name is chosen by its ErrorType method.
type InputError struct{ msg string }

func (e *InputError) Error() string     { return e.msg }
func (e *InputError) ErrorType() string { return "ValueError" }

func init() {
	arq.Handle("word_count", func(ctx arq.Context, a WordCountArgs) (WordCount, error) {
		if a.Text == "" {
			// Bad input: retrying cannot help.
			return WordCount{}, arq.Permanent(&InputError{"text is empty"})
		}
		n := 0
		for _, w := range strings.Fields(a.Text) {
			if len(w) >= a.MinLen {
				n++
			}
		}
		return WordCount{Words: n}, nil
	})
}

// This example registers a task taking its arguments as one struct.
func ExampleHandle() {
	run := func(args, kwargs string) {
		input := `{"function": "word_count", "job_try": 1, "args": ` + args + `, "kwargs": ` + kwargs + `}`
		fmt.Println(string(arq.Invoke([]byte(input))))
	}
	run(`[]`, `{"text": "a bb ccc", "min_len": 2}`)
	run(`["a bb ccc"]`, `{}`)
	run(`[]`, `{"text": ""}`)
	run(`[]`, `{"txt": "a"}`)
	// Output:
	// {"result":{"words":2}}
	// {"result":{"words":3}}
	// {"error":{"kind":"permanent","type":"ValueError","message":"text is empty"}}
	// {"error":{"kind":"permanent","type":"TypeError","message":"word_count() got an unexpected keyword argument \"txt\""}}
}
