package awsfake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func TestLambdaConcurrencyThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterLambda(srv)
	fake.AddFunction("chat")
	client := lambda.NewFromConfig(srv.Config())

	got, err := client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("chat")})
	if err != nil {
		t.Fatal(err)
	}
	if got.ReservedConcurrentExecutions != nil {
		t.Errorf("unreserved function: reserved = %d, want nil", *got.ReservedConcurrentExecutions)
	}
	if _, err := client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:chat"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if n, ok := fake.ReservedConcurrency("chat"); !ok || n != 0 {
		t.Errorf("reserved = %d, %v; want 0, true", n, ok)
	}
	got, err = client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("chat")})
	if err != nil || got.ReservedConcurrentExecutions == nil || *got.ReservedConcurrentExecutions != 0 {
		t.Fatalf("after put: %+v, %v", got, err)
	}
	if _, err := client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("chat")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.ReservedConcurrency("chat"); ok {
		t.Error("still reserved after delete")
	}
	_, err = client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("nope")})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown function: err = %v, want ResourceNotFoundException", err)
	}
}
