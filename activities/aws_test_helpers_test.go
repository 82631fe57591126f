package activities

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/quenchhq/quench/internal/awsfake"
)

// fakeRegistrars add services to every server newTestAWS starts. Test files
// for other services append to it in an init function:
//
//	func init() { fakeRegistrars = append(fakeRegistrars, func(s *awsfake.Server) { awsfake.RegisterBedrockAgent(s) }) }
var fakeRegistrars = []func(*awsfake.Server){
	func(s *awsfake.Server) {
		awsfake.RegisterIAM(s)
		awsfake.RegisterSTS(s)
		awsfake.RegisterSSM(s)
		awsfake.RegisterLambda(s)
		awsfake.RegisterAPIGateway(s)
	},
}

// allCalls collects every call any test's fake server received, for the
// worker policy checks.
var allCalls struct {
	sync.Mutex
	calls []awsfake.Call
}

// testPoll keeps verification polling fast in tests.
var testPoll = PollConfig{Interval: time.Millisecond, MaxInterval: 5 * time.Millisecond, Timeout: 5 * time.Second}

// newTestAWS starts a fake AWS with every registered service and returns a
// provider whose real SDK clients talk to it. The SDK retries as in
// production (standard mode, awsMaxAttempts attempts) with millisecond
// backoff. When the test ends, every call the server received is checked
// against deploy/iam-policy.json.
func newTestAWS(t *testing.T) (*awsfake.Server, *AWSProvider) {
	t.Helper()
	srv := awsfake.New()
	for _, reg := range fakeRegistrars {
		reg(srv)
	}
	t.Cleanup(func() {
		calls := srv.Calls()
		allCalls.Lock()
		allCalls.calls = append(allCalls.calls, calls...)
		allCalls.Unlock()
		checkCallsAllowed(t, calls)
		srv.Close()
	})
	cfg := srv.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = awsMaxAttempts
			o.Backoff = retry.NewExponentialJitterBackoff(2 * time.Millisecond)
			o.RateLimiter = ratelimit.None
		})
	}
	return srv, NewAWSProvider(cfg)
}

func fakeIAM(srv *awsfake.Server) *awsfake.IAM { return srv.Handler("iam").(*awsfake.IAM) }
func fakeSTS(srv *awsfake.Server) *awsfake.STS { return srv.Handler("sts").(*awsfake.STS) }
func fakeSSM(srv *awsfake.Server) *awsfake.SSM { return srv.Handler("ssm").(*awsfake.SSM) }
func fakeLambda(srv *awsfake.Server) *awsfake.Lambda {
	return srv.Handler("lambda").(*awsfake.Lambda)
}
func fakeAPIGateway(srv *awsfake.Server) *awsfake.APIGateway {
	return srv.Handler("apigateway").(*awsfake.APIGateway)
}

// mutatingOps lists the operations of the mutating calls, in order.
func mutatingOps(srv *awsfake.Server) []string {
	var ops []string
	for _, c := range srv.MutatingCalls() {
		ops = append(ops, c.Operation)
	}
	return ops
}
