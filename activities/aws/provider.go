package aws

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/quenchhq/quench/workflows/contract"
)

// Provider hands out aws.Config values for an incident: the base config
// (from config.LoadDefaultConfig in the worker, or a test server's config),
// with the incident's region and assumed role applied. Configs per
// (role, region) are cached so assumed-role credentials are reused.
type Provider struct {
	base  aws.Config
	mu    sync.Mutex
	cache map[string]aws.Config
}

// NewProvider wraps a base config.
func NewProvider(base aws.Config) *Provider {
	return &Provider{base: base, cache: map[string]aws.Config{}}
}

// Config returns the config to act for ref: ref.Region overrides the base
// region; ref.RoleARN is assumed through STS (cross-account containment).
func (p *Provider) Config(_ context.Context, ref contract.IncidentRef) (aws.Config, error) {
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

// awsMaxAttempts is how many times the SDK tries a call (throttling and 5xx
// are retried with jittered backoff) before the activity's own retry policy
// takes over.
const awsMaxAttempts = 5

// LoadProvider builds the worker's AWS provider from the default chain:
// AWS_PROFILE, AWS_REGION, environment keys, SSO, instance and task roles,
// and endpoint overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>).
func LoadProvider(ctx context.Context) (*Provider, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws configuration: %w", err)
	}
	// AWS_MAX_ATTEMPTS or max_attempts in the profile win; otherwise ride
	// out a little more throttling than the SDK's default 3 attempts.
	if cfg.RetryMaxAttempts == 0 {
		cfg.RetryMaxAttempts = awsMaxAttempts
	}
	return NewProvider(cfg), nil
}

// HasCredentials reports whether the base config can produce credentials.
// Without them `quench dev` runs every incident as a dry run.
func (p *Provider) HasCredentials(ctx context.Context) bool {
	if p == nil || p.base.Credentials == nil {
		return false
	}
	// The chain ends with instance metadata, which can take seconds to give
	// up where there is none.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	creds, err := p.base.Credentials.Retrieve(ctx)
	return err == nil && creds.HasKeys()
}

// Endpoint is the endpoint every service is pointed at (AWS_ENDPOINT_URL
// or the profile's endpoint_url, e.g. an emulator); "" means AWS itself.
func (p *Provider) Endpoint() string {
	if p == nil {
		return ""
	}
	return aws.ToString(p.base.BaseEndpoint)
}

// WithPlaceholderCredentials returns a provider on the same configuration
// that signs with placeholder keys: an endpoint that needs no real
// credentials (an emulator) can then be read without any. AWS rejects them.
func (p *Provider) WithPlaceholderCredentials() *Provider {
	cfg := p.base.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider("QUENCHNOCREDENTIALS", "placeholder", "")
	return NewProvider(cfg)
}

// WithAPIOptions returns a provider on the same configuration whose
// clients also run opts on every call (the worker's error metrics).
func (p *Provider) WithAPIOptions(opts ...func(*middleware.Stack) error) *Provider {
	cfg := p.base.Copy()
	cfg.APIOptions = append(cfg.APIOptions, opts...)
	return NewProvider(cfg)
}

// clientsFrom returns a function that builds a service client for an
// incident (its region and assumed role applied). build is the service's
// NewFromConfig, so AWS_ENDPOINT_URL_<SERVICE> is honoured.
func clientsFrom[C any](p *Provider, build func(aws.Config) C) func(context.Context, contract.IncidentRef) (C, error) {
	return func(ctx context.Context, ref contract.IncidentRef) (C, error) {
		cfg, err := p.Config(ctx, ref)
		if err != nil {
			var zero C
			return zero, fmt.Errorf("aws configuration for incident %s: %w", ref.ID, err)
		}
		return build(cfg), nil
	}
}
