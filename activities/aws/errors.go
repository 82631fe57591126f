package aws

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

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
		return action.NonRetryable(action.ErrAccessDenied, fmt.Errorf("%s %s: access denied: the worker needs permission %s on %s%s: %w", op, resource, permission, resource, policyScope(permission), err))
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

// Where deploy/iam-policy.json grants a permission on some resources only,
// an access-denied message says which, so the operator reading the timeline
// knows what to change (deploy/README.md, "IAM"). policy_test.go checks
// this map against the policy.
var permissionScopes = map[string]string{
	"iam:PutRolePolicy":                    tagged("the role"),
	"iam:DeleteRolePolicy":                 tagged("the role"),
	"iam:PutUserPolicy":                    tagged("the user"),
	"iam:DeleteUserPolicy":                 tagged("the user"),
	"iam:UpdateAccessKey":                  tagged("the user"),
	"iam:UpdateServiceSpecificCredential":  tagged("the user"),
	"bedrock:UpdateAgentAlias":             tagged("the alias"),
	"bedrock:UpdateAgentKnowledgeBase":     tagged("the agent and the knowledge base"),
	"bedrock:UpdateAgentActionGroup":       tagged("the agent"),
	"bedrock:PrepareAgent":                 tagged("the agent"),
	"bedrock:StopIngestionJob":             tagged("the knowledge base"),
	"bedrock:StartIngestionJob":            tagged("the knowledge base"),
	"bedrock:DeleteKnowledgeBaseDocuments": tagged("the knowledge base"),
	"bedrock:UpdateGuardrail":              tagged("the guardrail"),
	"bedrock:CreateGuardrailVersion":       tagged("the guardrail"),
	"lambda:PutFunctionConcurrency":        tagged("the function"),
	"lambda:DeleteFunctionConcurrency":     tagged("the function"),
	"apigateway:PATCH":                     tagged("the usage plan or API key"),
	"s3:GetBucketPolicy":                   namedBuckets,
	"s3:PutBucketPolicy":                   namedBuckets,
	"s3:DeleteBucketPolicy":                namedBuckets,
	"s3:ListBucketVersions":                namedBuckets,
	"s3:GetObjectVersion":                  namedBuckets,
	"s3:GetObjectVersionTagging":           namedBuckets,
	"s3:PutObject":                         namedBuckets,
	"s3:PutObjectTagging":                  namedBuckets,
	"ssm:GetParameter":                     quenchParameters,
	"ssm:PutParameter":                     quenchParameters,
	"ssm:DeleteParameter":                  quenchParameters,
}

const (
	// optInTag is the tag a resource needs before the worker policy lets
	// quench change it.
	optInTag         = "quench:containable=true"
	namedBuckets     = ", which deploy/iam-policy.json grants only on the S3 buckets it names: add the bucket if quench may act on it"
	quenchParameters = ", which deploy/iam-policy.json grants only on parameters under /quench/"
)

func tagged(what string) string {
	return ", which deploy/iam-policy.json grants only on resources tagged " + optInTag + ": tag " + what + " if quench may change it"
}

// policyScope is what permissionScopes says of a permission, or of the
// first of "a and b" that it knows.
func policyScope(permission string) string {
	for _, p := range strings.Split(permission, " and ") {
		if s, ok := permissionScopes[p]; ok {
			return s
		}
	}
	return ""
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
