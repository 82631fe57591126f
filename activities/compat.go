package activities

import (
	"context"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/quenchhq/quench/activities/action"
	awsactions "github.com/quenchhq/quench/activities/aws"
	"github.com/quenchhq/quench/activities/core"
)

// Names from before the catalogue was split into action/, core/ and aws/.
// Callers move to the subpackages; these go when none is left.
type (
	// Action is action.Action.
	Action = action.Action
	// ActionFunc is action.Func.
	ActionFunc = action.Func
	// Registry is action.Registry.
	Registry = action.Registry
	// ActivityRegistrar is action.ActivityRegistrar.
	ActivityRegistrar = action.ActivityRegistrar
	// Core is core.Core.
	Core = core.Core
	// RecordStore is core.RecordStore.
	RecordStore = core.RecordStore
	// AWSProvider is aws.Provider (activities/aws).
	AWSProvider = awsactions.Provider
)

// Error types, as in action.
const (
	ErrInvalidArgument = action.ErrInvalidArgument
	ErrAccessDenied    = action.ErrAccessDenied
	ErrNotFound        = action.ErrNotFound
	ErrValidation      = action.ErrValidation
	ErrConflict        = action.ErrConflict
	ErrActionFailed    = action.ErrActionFailed
)

// NewRegistry is action.NewRegistry.
func NewRegistry() *Registry { return action.NewRegistry() }

// NonRetryable is action.NonRetryable.
func NonRetryable(typ string, err error) error { return action.NonRetryable(typ, err) }

// DecodeArgs is action.DecodeArgs.
func DecodeArgs(args map[string]any, into any) error { return action.DecodeArgs(args, into) }

// NewRecordStore is core.NewRecordStore.
func NewRecordStore(path string) (*RecordStore, error) { return core.NewRecordStore(path) }

// NewAWSProvider is aws.NewProvider (activities/aws).
func NewAWSProvider(base sdkaws.Config) *AWSProvider { return awsactions.NewProvider(base) }

// LoadAWSProvider is aws.LoadProvider (activities/aws).
func LoadAWSProvider(ctx context.Context) (*AWSProvider, error) { return awsactions.LoadProvider(ctx) }
