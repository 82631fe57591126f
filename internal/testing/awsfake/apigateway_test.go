package awsfake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func replace(path, value string) agtypes.PatchOperation {
	return agtypes.PatchOperation{Op: agtypes.OpReplace, Path: aws.String(path), Value: aws.String(value)}
}

func TestAPIGatewayUsagePlanThrottle(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterAPIGateway(srv)
	fake.AddUsagePlan("plan1", "gold", &awsfake.Throttle{RateLimit: 100, BurstLimit: 200})
	fake.AddUsagePlan("plan2", "free", nil)
	client := apigateway.NewFromConfig(srv.Config())

	got, err := client.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String("plan1")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Throttle == nil || got.Throttle.RateLimit != 100 || got.Throttle.BurstLimit != 200 {
		t.Fatalf("throttle = %+v", got.Throttle)
	}
	upd, err := client.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String("plan1"), PatchOperations: []agtypes.PatchOperation{
		replace("/throttle/rateLimit", "0.5"), replace("/throttle/burstLimit", "1")}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Throttle.RateLimit != 0.5 || upd.Throttle.BurstLimit != 1 {
		t.Errorf("updated throttle = %+v", upd.Throttle)
	}

	got, err = client.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String("plan2")})
	if err != nil || got.Throttle != nil {
		t.Fatalf("plan without throttle: %+v, %v", got, err)
	}
	fake.RejectReplaceWithoutThrottle(true)
	_, err = client.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String("plan2"), PatchOperations: []agtypes.PatchOperation{replace("/throttle/rateLimit", "1")}})
	var bad *agtypes.BadRequestException
	if !errors.As(err, &bad) {
		t.Errorf("replace without throttle: err = %v, want BadRequestException", err)
	}
	if _, err := client.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String("plan1"), PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpRemove, Path: aws.String("/throttle")}}}); err != nil {
		t.Fatal(err)
	}
	if fake.UsagePlanThrottle("plan1") != nil {
		t.Error("throttle still set after remove /throttle")
	}
	_, err = client.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String("nope")})
	var nf *agtypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown plan: err = %v, want NotFoundException", err)
	}
}

func TestAPIGatewayAPIKeyEnabled(t *testing.T) {
	srv := newServer(t)
	fake := awsfake.RegisterAPIGateway(srv)
	fake.AddAPIKey("key1", "partner", true)
	out, err := apigateway.NewFromConfig(srv.Config()).UpdateApiKey(context.Background(), &apigateway.UpdateApiKeyInput{ApiKey: aws.String("key1"), PatchOperations: []agtypes.PatchOperation{replace("/enabled", "false")}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Enabled || fake.APIKeyEnabled("key1") {
		t.Error("key still enabled")
	}
}
