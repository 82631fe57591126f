package awsfake

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestStateComparesEveryResourceAndNamesWhatChanged(t *testing.T) {
	srv := New()
	t.Cleanup(srv.Close)
	fakeIAM, fakeLambda := RegisterIAM(srv), RegisterLambda(srv)
	RegisterSTS(srv) // holds no resources: not in the state
	fakeIAM.AddRole("app-role", 3600)
	fakeIAM.SetRolePolicy("app-role", "existing", `{"Version":"2012-10-17"}`)
	fakeIAM.AddUser("ci-bot")
	fakeIAM.AddAccessKey("ci-bot", "AKIAEXAMPLE000000001", "Active")
	fakeLambda.AddFunction("chat")

	before := srv.State()
	if got := strings.Join(Resources(before.Diff(State{})), ","); got != "iam/role/app-role,iam/user/ci-bot,lambda/function/chat" {
		t.Fatalf("resources = %s", got)
	}
	if d := before.Diff(srv.State()); d != nil {
		t.Fatalf("two states of an untouched account differ: %v", d)
	}

	ctx := context.Background()
	ic := iam.NewFromConfig(srv.Config())
	lc := lambda.NewFromConfig(srv.Config())
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app-role"), PolicyName: aws.String("quench-deny"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("ci-bot"), AccessKeyId: aws.String("AKIAEXAMPLE000000001"), Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("chat"), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range before.Diff(srv.State()) {
		got = append(got, c.String())
	}
	want := []string{
		`iam/role/app-role inline_policies.quench-deny: added "{\"Version\":\"2012-10-17\",\"Statement\":[]}"`,
		`iam/user/ci-bot access_keys[0].status: "Active" -> "Inactive"`,
		`lambda/function/chat reserved_concurrency: null -> 1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Undo each change: byte-identical again.
	if _, err := ic.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app-role"), PolicyName: aws.String("quench-deny")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("ci-bot"), AccessKeyId: aws.String("AKIAEXAMPLE000000001"), Status: "Active"}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("chat")}); err != nil {
		t.Fatal(err)
	}
	if d := before.Diff(srv.State()); d != nil {
		t.Fatalf("after undoing every change: %v", d)
	}
}
