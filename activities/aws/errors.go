package aws

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/quenchhq/quench/activities/action"
)

// AWSError classifies an SDK error for Temporal: throttling and 5xx stay
// retryable (the activity retry policy backs off); access denied,
// validation and not-found become non-retryable errors whose message names
// the operation, the resource and, for access denied, the IAM permission
// the worker is missing (service:Operation).
func AWSError(service, op, resource string, err error) error {
	return awsError(op, service+":"+op, resource, err)
}

// awsError is AWSError for calls whose IAM permission is not named after
// the operation (S3's ListObjectVersions needs s3:ListBucketVersions).
func awsError(op, permission, resource string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	code := ""
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	status := 0
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	var assumeErr *assumeRoleError
	switch {
	case errors.As(err, &assumeErr) && isAccessDenied(code):
		return action.NonRetryable(action.ErrAccessDenied, fmt.Errorf("%s %s: cannot assume role %s: the worker needs permission sts:AssumeRole on it, and the role must trust the worker: %w", op, resource, assumeErr.roleARN, err))
	case isAccessDenied(code):
		return action.NonRetryable(action.ErrAccessDenied, fmt.Errorf("%s %s: access denied: the worker needs permission %s on %s: %w", op, resource, permission, resource, err))
	case isNotFound(code) || status == http.StatusNotFound:
		return action.NonRetryable(action.ErrNotFound, fmt.Errorf("%s %s: not found: %w", op, resource, err))
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() || isThrottle(code):
		return fmt.Errorf("%s %s (throttled, will retry): %w", op, resource, err)
	case status >= 500:
		return fmt.Errorf("%s %s (server error, will retry): %w", op, resource, err)
	case isTransient(code):
		return fmt.Errorf("%s %s (transient, will retry): %w", op, resource, err)
	case isValidation(code) || (status >= 400 && status < 500):
		return action.NonRetryable(action.ErrValidation, fmt.Errorf("%s %s: rejected: %w", op, resource, err))
	}
	return fmt.Errorf("%s %s: %w", op, resource, err)
}

// isTransient lists 4xx codes that a later attempt can succeed past:
// expired temporary credentials are refreshed, concurrent changes settle.
func isTransient(code string) bool {
	switch code {
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired", "IDPCommunicationError", "RequestTimeout", "RequestTimeoutException",
		"ConcurrentModification", "ConcurrentModificationException", "EntityTemporarilyUnmodifiable", "PriorRequestNotComplete":
		return true
	}
	return false
}

func isAccessDenied(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException", "AuthorizationError":
		return true
	}
	return false
}

func isNotFound(code string) bool {
	switch code {
	case "NoSuchEntity", "ResourceNotFoundException", "ParameterNotFound", "NotFoundException":
		return true
	}
	return false
}

func isThrottle(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "ThrottledException", "RequestLimitExceeded":
		return true
	}
	return false
}

func isValidation(code string) bool {
	switch code {
	case "ValidationException", "ValidationError", "InvalidInput", "MalformedPolicyDocument", "InvalidParameterValueException", "BadRequestException", "ConflictException", "LimitExceeded", "ServiceQuotaExceededException":
		return true
	}
	return false
}
