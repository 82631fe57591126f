package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/quenchhq/quench/workflows/contract"
)

// AWSProvider hands out aws.Config values for an incident: the base config
// (from config.LoadDefaultConfig in the worker, or a test server's config),
// with the incident's region and assumed role applied. Configs per
// (role, region) are cached so assumed-role credentials are reused.
type AWSProvider struct {
	base  aws.Config
	mu    sync.Mutex
	cache map[string]aws.Config
}

// NewAWSProvider wraps a base config.
func NewAWSProvider(base aws.Config) *AWSProvider {
	return &AWSProvider{base: base, cache: map[string]aws.Config{}}
}

// Config returns the config to act for ref: ref.Region overrides the base
// region; ref.RoleARN is assumed through STS (cross-account containment).
func (p *AWSProvider) Config(_ context.Context, ref contract.IncidentRef) (aws.Config, error) {
	key := ref.RoleARN + "|" + ref.Region
	p.mu.Lock()
	defer p.mu.Unlock()
	if cfg, ok := p.cache[key]; ok {
		return cfg, nil
	}
	cfg := p.base.Copy()
	if ref.Region != "" {
		cfg.Region = ref.Region
	}
	if ref.RoleARN != "" {
		stsClient := sts.NewFromConfig(cfg)
		cfg.Credentials = aws.NewCredentialsCache(assumeRoleProvider{roleARN: ref.RoleARN, p: stscreds.NewAssumeRoleProvider(stsClient, ref.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "quench-" + sanitizeSessionName(ref.ID)
		})})
	}
	p.cache[key] = cfg
	return cfg, nil
}

// assumeRoleProvider marks failures to assume the incident's role, so
// AWSError can name the missing sts:AssumeRole permission instead of the
// permission of the call that needed the credentials.
type assumeRoleProvider struct {
	roleARN string
	p       aws.CredentialsProvider
}

func (a assumeRoleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := a.p.Retrieve(ctx)
	if err != nil {
		return c, &assumeRoleError{roleARN: a.roleARN, err: err}
	}
	return c, nil
}

type assumeRoleError struct {
	roleARN string
	err     error
}

func (e *assumeRoleError) Error() string { return fmt.Sprintf("assume role %s: %v", e.roleARN, e.err) }
func (e *assumeRoleError) Unwrap() error { return e.err }

func sanitizeSessionName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("=,.@-_", r) {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > 50 {
		out = out[:50]
	}
	return out
}

// AWSError classifies an SDK error for Temporal: throttling and 5xx stay
// retryable (the activity retry policy backs off); access denied,
// validation and not-found become non-retryable errors whose message names
// the operation, the resource and, for access denied, the IAM permission
// the worker is missing (service:Operation).
func AWSError(service, op, resource string, err error) error {
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
		return NonRetryable(ErrAccessDenied, fmt.Errorf("%s %s: cannot assume role %s: the worker needs permission sts:AssumeRole on it, and the role must trust the worker: %w", op, resource, assumeErr.roleARN, err))
	case isAccessDenied(code):
		return NonRetryable(ErrAccessDenied, fmt.Errorf("%s %s: access denied: the worker needs permission %s:%s on %s: %w", op, resource, service, op, resource, err))
	case isNotFound(code) || status == http.StatusNotFound:
		return NonRetryable(ErrNotFound, fmt.Errorf("%s %s: not found: %w", op, resource, err))
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() || isThrottle(code):
		return fmt.Errorf("%s %s (throttled, will retry): %w", op, resource, err)
	case status >= 500:
		return fmt.Errorf("%s %s (server error, will retry): %w", op, resource, err)
	case isTransient(code):
		return fmt.Errorf("%s %s (transient, will retry): %w", op, resource, err)
	case isValidation(code) || (status >= 400 && status < 500):
		return NonRetryable(ErrValidation, fmt.Errorf("%s %s: rejected: %w", op, resource, err))
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
