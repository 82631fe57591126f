package awsfake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/quenchhq/quench/internal/testing/awsfake"
)

func TestSSMParametersThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	fake := awsfake.RegisterSSM(srv)
	fake.SetParameter("/quench/app/rate", "100", "String")
	client := ssm.NewFromConfig(srv.Config())

	got, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/quench/app/rate")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Parameter.Value) != "100" || got.Parameter.Type != ssmtypes.ParameterTypeString || got.Parameter.Version != 1 {
		t.Errorf("parameter = %+v", got.Parameter)
	}
	if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/quench/app/rate"), Value: aws.String("5"), Type: ssmtypes.ParameterTypeString}); apiCode(err) != "ParameterAlreadyExists" {
		t.Errorf("put without overwrite: err = %v, want ParameterAlreadyExists", err)
	}
	put, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/quench/app/rate"), Value: aws.String("5"), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if put.Version != 2 {
		t.Errorf("version = %d, want 2", put.Version)
	}
	if v, _, _, _ := fake.Parameter("/quench/app/rate"); v != "5" {
		t.Errorf("value = %q, want 5", v)
	}
	if _, err := client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/quench/app/rate")}); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/quench/app/rate")})
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Errorf("after delete: err = %v, want ParameterNotFound", err)
	}
}
