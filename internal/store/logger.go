package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"
)

// slogLogger routes go-redis's own messages (pool and reconnection events, printed as plain text
// lines by default) to the default slog logger, so that they follow the process's log format.
type slogLogger struct{}

func (slogLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

var setLoggerOnce sync.Once

func init() {
	setLoggerOnce.Do(func() { redis.SetLogger(slogLogger{}) })
}
