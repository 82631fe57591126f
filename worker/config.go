package worker

import (
	"os"

	"go.temporal.io/sdk/client"

	"github.com/quenchhq/quench/internal/codec"
	"github.com/quenchhq/quench/workflows/contract"
)

// Config is where a worker (and the CLI) finds Temporal. Defaults, then
// environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, QUENCH_TASK_QUEUE,
// and the TLS and API key variables of Connection), then flags — the CLI
// applies flags on top of ConfigFromEnv.
type Config struct {
	TemporalAddress string
	Namespace       string
	TaskQueue       string
	// Connection is TLS, mTLS and the API key; zero is plaintext.
	Connection Connection
	// Codec encrypts every payload this process writes to Temporal and
	// decrypts what it reads (codec.FromEnv); nil leaves them plaintext.
	Codec *codec.Codec
	// MetricsHandler receives the Temporal SDK's own metrics
	// (internal/metrics); nil discards them.
	MetricsHandler client.MetricsHandler
}

// Defaults.
const (
	DefaultTemporalAddress = "127.0.0.1:7233"
	DefaultNamespace       = "default"
)

// ConfigFromEnv returns defaults overridden by the environment.
func ConfigFromEnv() Config {
	c := Config{TemporalAddress: DefaultTemporalAddress, Namespace: DefaultNamespace, TaskQueue: contract.DefaultTaskQueue,
		Connection: ConnectionFromEnv()}
	if v := os.Getenv("TEMPORAL_ADDRESS"); v != "" {
		c.TemporalAddress = v
	}
	if v := os.Getenv("TEMPORAL_NAMESPACE"); v != "" {
		c.Namespace = v
	}
	if v := os.Getenv("QUENCH_TASK_QUEUE"); v != "" {
		c.TaskQueue = v
	}
	return c
}
