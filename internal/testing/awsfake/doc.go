// Package awsfake is a test-only AWS endpoint that speaks the real wire
// protocols of the services quench calls (IAM/STS awsQuery, restJson1 for
// bedrock-agent, bedrock, lambda and apigateway, awsJson1.1 for SSM and
// CloudTrail, restXml for S3, rpc-v2-cbor for CloudWatch), keeps state per
// resource, records every call and injects faults. Tests point real aws-sdk-go-v2 clients at it with
// BaseEndpoint, so SigV4 signing, retries and serialisation are exercised.
//
// One server serves every service: requests are routed by the signing name
// in the SigV4 credential scope (".../us-east-1/iam/aws4_request"), and
// within "bedrock" by path (bedrock-agent and bedrock control plane paths
// do not overlap).
//
// Only tests import it (internal/archtest asserts that no production
// package does).
package awsfake
