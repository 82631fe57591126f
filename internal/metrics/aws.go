package metrics

import (
	"context"
	"errors"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// AWSAPIOption is an aws.Config APIOptions entry that counts failed AWS
// calls by service and error code. It sits at the end of the Initialize
// step, outside the SDK's retry loop: one count per call that failed after
// the SDK's own retries, which is what the action saw.
func (m *Metrics) AWSAPIOption(stack *middleware.Stack) error {
	if m == nil {
		return nil
	}
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("QuenchMetricsErrors",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if err != nil && !errors.Is(err, context.Canceled) {
				m.awsErrors.WithLabelValues(awsmiddleware.GetServiceID(ctx), awsCode(err)).Inc()
			}
			return out, md, err
		}), middleware.After)
}

// awsCode is the AWS error code of err, or Transport when no AWS answer
// was read (network failure, timeout).
func awsCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		return apiErr.ErrorCode()
	}
	return "Transport"
}
