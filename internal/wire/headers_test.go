package wire

import (
	"math"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestRetryCount(t *testing.T) {
	t.Parallel()
	good := []any{
		int(3), int8(3), int16(3), int32(3), int64(3), uint(3), uint8(3), uint16(3), uint32(3), uint64(3),
		float32(3), float64(3), "3", " 3 ", "3.0", []byte("3"), amqp.Decimal{Scale: 0, Value: 3}, amqp.Decimal{Scale: 2, Value: 300},
	}
	for _, v := range good {
		n, ok := RetryCount(amqp.Table{HeaderRetryCount: v})
		if !ok || n != 3 {
			t.Errorf("RetryCount(%T %v) = %d, %v; want 3, true", v, v, n, ok)
		}
	}
	if n, ok := RetryCount(amqp.Table{HeaderRetryCount: int32(0)}); !ok || n != 0 {
		t.Errorf("zero: %d, %v", n, ok)
	}
	if n, ok := RetryCount(amqp.Table{HeaderRetryCount: int64(math.MaxInt32)}); !ok || n != math.MaxInt32 {
		t.Errorf("MaxInt32: %d, %v", n, ok)
	}
	bad := []any{
		nil, true, "", "three", "3x", "-1", "1.5", []byte("x"), int8(-1), int64(-5), int64(math.MaxInt32 + 1),
		uint64(math.MaxUint64), float64(-1), float64(2.5), math.NaN(), math.Inf(1), float32(math.Inf(-1)),
		amqp.Decimal{Scale: 1, Value: 25}, amqp.Table{}, []any{int32(1)}, "NaN", "Inf",
	}
	for _, v := range bad {
		if n, ok := RetryCount(amqp.Table{HeaderRetryCount: v}); ok {
			t.Errorf("RetryCount(%T %v) = %d, true; want false", v, v, n)
		}
	}
	if _, ok := RetryCount(nil); ok {
		t.Error("nil table reported a count")
	}
	if _, ok := RetryCount(amqp.Table{"other": int32(1)}); ok {
		t.Error("missing header reported a count")
	}
}
