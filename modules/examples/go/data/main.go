// Command data is an example arqhost task module: the Go version of the process_data task of the
// arq examples, and a task taking its arguments as a struct.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o data.wasm ./modules/examples/go/data
package main

import (
	"sort"
	"strings"
	"time"

	arq "github.com/arqhost/arqhost/sdk/go"
)

func init() {
	arq.Register("process_data", processData, "data")
	arq.Handle("word_count", wordCount)
}

// ValueError reports bad input. Its ErrorType method names the error type reported to the
// worker, as Python's ValueError would be.
type ValueError struct{ Msg string }

func (e *ValueError) Error() string     { return e.Msg }
func (e *ValueError) ErrorType() string { return "ValueError" }

// Processed is the result of process_data.
type Processed struct {
	Processed   bool     `json:"processed"`
	Count       int      `json:"count"`
	Keys        []string `json:"keys"`
	ProcessedAt string   `json:"processed_at"`
}

// processData summarizes a JSON object, like the Python example:
//
//	async def process_data(ctx, data: dict):
//	    return {"processed": True, "count": len(data), ...}
//
// An empty object is bad input that no retry can fix: the job fails permanently with a
// ValueError.
func processData(ctx arq.Context, data map[string]any) (Processed, error) {
	if len(data) == 0 {
		return Processed{}, arq.Permanent(&ValueError{Msg: "data must not be empty"})
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ctx.Debug("processing data", "count", len(data))
	return Processed{
		Processed:   true,
		Count:       len(data),
		Keys:        keys,
		ProcessedAt: time.Now().UTC().Format(time.RFC3339),
	}, nil
}

// WordCountArgs are the arguments of word_count, by keyword ("text", "min_len") or by position.
type WordCountArgs struct {
	Text   string `json:"text"`
	MinLen int    `json:"min_len"`
}

// WordCountResult is the result of word_count.
type WordCountResult struct {
	Words   int    `json:"words"`
	Unique  int    `json:"unique"`
	Longest string `json:"longest"`
}

// wordCount counts the words of at least MinLen bytes in Text, case-insensitively for Unique.
func wordCount(ctx arq.Context, a WordCountArgs) (WordCountResult, error) {
	if a.MinLen < 0 {
		return WordCountResult{}, arq.Permanent(&ValueError{Msg: "min_len must not be negative"})
	}
	var r WordCountResult
	seen := map[string]bool{}
	for _, w := range strings.Fields(a.Text) {
		w = strings.Trim(w, ".,;:!?\"'()")
		if w == "" || len(w) < a.MinLen {
			continue
		}
		r.Words++
		seen[strings.ToLower(w)] = true
		if len(w) > len(r.Longest) {
			r.Longest = w
		}
	}
	r.Unique = len(seen)
	return r, nil
}

func main() {}
