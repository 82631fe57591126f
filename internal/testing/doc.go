// Package testing is the test wing: servers that stand in for the outside
// world in tests, and nothing else.
//
//   - awsfake: an in-process AWS (IAM, STS, Lambda, API Gateway,
//     CloudWatch, SSM, Bedrock, Bedrock Agent) speaking the SDK's wire
//     protocols and keeping state a test can read back.
//   - slackfake: a recording Slack Web API and the interactions Slack
//     would send to quench.
//
// Packages under internal/testing may import production packages (to
// sign a request as Slack would, say); production packages must never
// import them — only _test.go files may. internal/archtest enforces this.
package testing
