package aws

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/runbooks"
)

type workerStatement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]stringList
}

// stringList reads IAM's "a string or a list of strings".
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

var workerPolicy struct {
	once       sync.Once
	statements []workerStatement
	err        error
}

func loadWorkerPolicy(t *testing.T) []workerStatement {
	t.Helper()
	workerPolicy.once.Do(func() {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "iam-policy.json"))
		if err != nil {
			workerPolicy.err = err
			return
		}
		var doc struct {
			Version   string
			Statement []workerStatement
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			workerPolicy.err = err
			return
		}
		workerPolicy.statements = doc.Statement
	})
	if workerPolicy.err != nil {
		t.Fatalf("read deploy/iam-policy.json: %v", workerPolicy.err)
	}
	return workerPolicy.statements
}

// iamPattern matches IAM action patterns: case-insensitive, * and ? wildcards.
func iamPattern(p string) *regexp.Regexp {
	q := regexp.QuoteMeta(p)
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	return regexp.MustCompile("(?i)^" + q + "$")
}

func policyAllows(stmts []workerStatement, action string) bool {
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			if iamPattern(a).MatchString(action) {
				return true
			}
		}
	}
	return false
}

// apiGatewayMethods maps API Gateway operations to their IAM actions,
// which are HTTP methods.
var apiGatewayMethods = map[string]string{
	"GetUsagePlan": "GET", "UpdateUsagePlan": "PATCH", "GetApiKey": "GET", "UpdateApiKey": "PATCH",
}

// s3Permissions are the IAM actions S3 calls need where they are not
// named after the call. CopyObject from a version reads the version (and
// its tags, which the copy keeps) and writes the key (and the tags).
var s3Permissions = map[string][]string{
	"ListObjectVersions": {"s3:ListBucketVersions"},
	"CopyObject":         {"s3:PutObject", "s3:GetObjectVersion", "s3:GetObjectVersionTagging", "s3:PutObjectTagging"},
}

// iamActions names the IAM actions that authorise a call the fake recorded.
func iamActions(c awsfake.Call) []string {
	if c.Service == "s3" && s3Permissions[c.Operation] != nil {
		return s3Permissions[c.Operation]
	}
	return []string{iamAction(c)}
}

// iamAction names the IAM action named after a call the fake recorded.
func iamAction(c awsfake.Call) string {
	switch c.Service {
	case "monitoring":
		return "cloudwatch:" + c.Operation
	case "bedrock-agent":
		return "bedrock:" + c.Operation
	case "apigateway":
		if m, ok := apiGatewayMethods[c.Operation]; ok {
			return "apigateway:" + m
		}
	}
	return c.Service + ":" + c.Operation
}

// checkCallsAllowed fails t for every call the worker policy does not allow.
func checkCallsAllowed(t *testing.T, calls []awsfake.Call) {
	t.Helper()
	stmts := loadWorkerPolicy(t)
	seen := map[string]bool{}
	for _, c := range calls {
		for _, a := range iamActions(c) {
			if seen[a] {
				continue
			}
			seen[a] = true
			// STS answers GetCallerIdentity for every principal; no policy grants or denies it.
			if a == "sts:GetCallerIdentity" {
				continue
			}
			if c.Operation == "" || !policyAllows(stmts, a) {
				t.Errorf("deploy/iam-policy.json does not allow %s, which the code called", a)
			}
		}
	}
}

func TestIAMPatternMatchesLikeIAM(t *testing.T) {
	cases := []struct {
		pattern, action string
		want            bool
	}{
		{"iam:GetRole", "iam:GetRole", true},
		{"iam:GetRole", "iam:getrole", true},
		{"iam:Get*", "iam:GetRolePolicy", true},
		{"iam:Get*", "iam:PutRolePolicy", false},
		{"iam:GetRole", "iam:GetRolePolicy", false},
		{"s3:Get?bject", "s3:GetObject", true},
		{"ssm:GetParameter", "ssm:GetParameters", false},
	}
	for _, c := range cases {
		if got := iamPattern(c.pattern).MatchString(c.action); got != c.want {
			t.Errorf("pattern %q on %q = %v, want %v", c.pattern, c.action, got, c.want)
		}
	}
}

func TestWorkerPolicyIsLeastPrivilege(t *testing.T) {
	stmts := loadWorkerPolicy(t)
	for _, never := range []string{"iam:CreateAccessKey", "iam:PassRole", "iam:CreateUser", "iam:AttachRolePolicy", "ssm:GetParameters", "bedrock:InvokeModel", "lambda:InvokeFunction", "apigateway:DELETE", "sts:GetSessionToken",
		"iam:DeleteAccessKey", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "bedrock:InvokeAgent", "bedrock-mantle:CreateInference", "sso:DeletePermissionSet",
		"s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketAcl", "s3:PutBucketPublicAccessBlock", "s3:DeleteBucket",
		// Recovery deletes poisoned documents from an index and syncs; it never adds documents or removes a knowledge base or data source.
		"bedrock:IngestKnowledgeBaseDocuments", "bedrock:DeleteKnowledgeBase", "bedrock:DeleteDataSource", "bedrock:UpdateDataSource",
		// The worker never tags: it could otherwise opt a resource in to its own writes.
		"iam:TagRole", "iam:UntagRole", "iam:TagUser", "iam:UntagUser", "lambda:TagResource", "lambda:UntagResource",
		"bedrock:TagResource", "bedrock:UntagResource", "apigateway:PUT", "apigateway:POST", "s3:TagResource", "s3:PutBucketTagging", "s3:PutBucketAbac"} {
		if policyAllows(stmts, never) {
			t.Errorf("worker policy allows %s, which quench never needs", never)
		}
	}
	for _, s := range stmts {
		for _, a := range s.Action {
			if s.Effect == "Allow" && (a == "*" || strings.HasSuffix(a, ":*")) {
				t.Errorf("statement %s allows every action of a service (%s)", s.Sid, a)
			}
		}
	}
}

// Every operation the actions' client interfaces declare is allowed by
// the worker policy, whether or not a test happens to reach the path that
// calls it (checkCallsAllowed sees only the calls tests make).
func TestWorkerPolicyAllowsEveryOperationTheClientsDeclare(t *testing.T) {
	stmts := loadWorkerPolicy(t)
	// By the fake's signing name, as iamAction expects. CallerAPI is left
	// out: no policy grants or denies sts:GetCallerIdentity.
	clients := map[reflect.Type]string{
		reflect.TypeFor[IAMAPI]():                    "iam",
		reflect.TypeFor[LambdaAPI]():                 "lambda",
		reflect.TypeFor[APIGatewayAPI]():             "apigateway",
		reflect.TypeFor[SSMAPI]():                    "ssm",
		reflect.TypeFor[BedrockAPI]():                "bedrock",
		reflect.TypeFor[BedrockAgentAPI]():           "bedrock-agent",
		reflect.TypeFor[KnowledgeBaseDocumentsAPI](): "bedrock-agent",
		reflect.TypeFor[CloudWatchAPI]():             "monitoring",
		reflect.TypeFor[S3API]():                     "s3",
		reflect.TypeFor[CloudTrailAPI]():             "cloudtrail",
	}
	for iface, service := range clients {
		for m := range iface.Methods() {
			for _, a := range iamActions(awsfake.Call{Service: service, Operation: m.Name}) {
				if !policyAllows(stmts, a) {
					t.Errorf("deploy/iam-policy.json does not allow %s, which %s declares", a, iface.Name())
				}
			}
		}
	}
}

func TestWorkerPolicyDeniesChangingItsOwnRole(t *testing.T) {
	stmts := loadWorkerPolicy(t)
	var deny *workerStatement
	for i := range stmts {
		if stmts[i].Effect == "Deny" {
			deny = &stmts[i]
		}
	}
	if deny == nil {
		t.Fatal("worker policy has no Deny statement for the worker's own role")
	}
	if len(deny.Resource) != 1 || deny.Resource[0] != "arn:aws:iam::*:role/quench-worker" {
		t.Errorf("deny resource = %v, want the worker role arn:aws:iam::*:role/quench-worker", deny.Resource)
	}
	// Every IAM write the policy allows on roles must be denied on the worker's role.
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		onRoles := false
		for _, r := range s.Resource {
			if r == "*" || strings.Contains(r, ":role/") {
				onRoles = true
			}
		}
		for _, a := range s.Action {
			if !onRoles || !strings.HasPrefix(a, "iam:") || strings.HasPrefix(a, "iam:Get") || strings.HasPrefix(a, "iam:List") ||
				a == "iam:UpdateAccessKey" || strings.Contains(a, "UserPolicy") || a == "iam:UpdateServiceSpecificCredential" {
				continue
			}
			denied := false
			for _, d := range deny.Action {
				if iamPattern(d).MatchString(a) {
					denied = true
				}
			}
			if !denied {
				t.Errorf("%s is allowed on roles but not denied on the worker's own role", a)
			}
		}
	}
}

// optIn is the condition under which the worker policy lets the worker
// change a resource it does not name: the resource carries the tag
// quench:containable=true (deploy/README.md, "IAM").
var optIn = map[string]map[string]stringList{
	"StringEquals": {"aws:ResourceTag/quench:containable": {"true"}},
}

func hasOptIn(s workerStatement) bool { return reflect.DeepEqual(s.Condition, optIn) }

// readOnly reports whether an IAM action only reads. The Service
// Authorization Reference classes every Get*, List* and Describe* action
// the worker uses as Read or List, and LookupEvents and API Gateway's GET
// likewise; anything else counts as a write.
func readOnly(action string) bool {
	switch action {
	case "cloudtrail:LookupEvents", "apigateway:GET":
		return true
	}
	_, name, _ := strings.Cut(action, ":")
	for _, p := range []string{"Get", "List", "Describe"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// unscoped reports whether a Resource element covers every resource of its
// kind (role/*, function:*, arn:aws:s3:::*) or of every kind (*): its name,
// the first segment after the resource type, starts with a wildcard. A named
// resource or prefix (role/quench-containment, parameter/quench/*, an S3
// bucket name) is scoped; anything that is not an ARN is unscoped.
func unscoped(resource string) bool {
	parts := strings.SplitN(resource, ":", 6)
	if len(parts) < 6 {
		return true
	}
	segs := strings.FieldsFunc(parts[5], func(r rune) bool { return r == '/' || r == ':' })
	if parts[2] != "s3" && len(segs) > 0 { // S3 ARNs name the bucket with no type before it
		segs = segs[1:]
	}
	return len(segs) == 0 || strings.HasPrefix(segs[0], "*") || strings.HasPrefix(segs[0], "?")
}

// unscopedWrites are the only writes the worker policy may allow without the
// opt-in condition on resources it does not name, and the only resources it
// may allow them on. deploy/README.md cites the reference for each.
var unscopedWrites = map[string][]string{
	// list_amazonbedrock.html lists no resource type for it: the invocation
	// logging configuration is one per account and Region, so neither an ARN
	// nor a tag can scope it.
	"bedrock:PutModelInvocationLoggingConfiguration": {"*"},
	// UpdateGuardrail also authorises the guardrail profile and automated
	// reasoning policies the guardrail refers to (Bedrock user guide,
	// guardrail-profiles-permissions.html); it changes neither. Profiles are
	// AWS-owned and list no tag condition key. The guardrail itself must be
	// tagged: its statement carries the opt-in condition.
	"bedrock:UpdateGuardrail": {"arn:aws:bedrock:*:*:guardrail-profile/*", "arn:aws:bedrock:*:*:automated-reasoning-policy/*"},
}

// unscopedWritesIn lists every write a policy allows on resources neither
// tagged (the opt-in condition) nor named, beyond unscopedWrites.
func unscopedWritesIn(stmts []workerStatement) []string {
	var bad []string
	for _, s := range stmts {
		if s.Effect != "Allow" || hasOptIn(s) {
			continue
		}
		if len(s.Resource) == 0 {
			bad = append(bad, fmt.Sprintf("statement %s names no Resource", s.Sid))
		}
		for _, a := range s.Action {
			if readOnly(a) {
				continue
			}
			for _, r := range s.Resource {
				if unscoped(r) && !slices.Contains(unscopedWrites[a], r) {
					bad = append(bad, fmt.Sprintf("statement %s allows %s on %s", s.Sid, a, r))
				}
			}
		}
	}
	return bad
}

// A stolen worker credential must not be able to write to a resource its
// owner did not opt in: every write statement carries the opt-in tag
// condition or names its resources.
func TestWorkerPolicyScopesEveryWriteToOptedInResources(t *testing.T) {
	for _, b := range unscopedWritesIn(loadWorkerPolicy(t)) {
		t.Errorf("%s: add the condition %v or name the resources (deploy/README.md, \"IAM\")", b, optIn)
	}
}

func TestUnscopedWritesInFlagsWhatIsNeitherTaggedNorNamed(t *testing.T) {
	stmt := func(cond map[string]map[string]stringList, actions []string, resources ...string) workerStatement {
		return workerStatement{Sid: "S", Effect: "Allow", Action: actions, Resource: resources, Condition: cond}
	}
	other := map[string]map[string]stringList{"StringEquals": {"aws:ResourceTag/team": {"ai"}}}
	for _, tc := range []struct {
		name string
		stmt workerStatement
		bad  bool
	}{
		{"write on every role", stmt(nil, []string{"iam:PutRolePolicy"}, "arn:aws:iam::*:role/*"), true},
		{"write on every role and user", stmt(nil, []string{"iam:GetRole", "iam:DeleteUserPolicy"}, "arn:aws:iam::*:role/quench-x", "arn:aws:iam::*:user/*"), true},
		{"write on *", stmt(nil, []string{"lambda:PutFunctionConcurrency"}, "*"), true},
		{"write on every function", stmt(nil, []string{"lambda:PutFunctionConcurrency"}, "arn:aws:lambda:*:*:function:*"), true},
		{"PATCH on every usage plan", stmt(nil, []string{"apigateway:PATCH"}, "arn:aws:apigateway:*::/usageplans/*"), true},
		{"write on every bucket", stmt(nil, []string{"s3:PutBucketPolicy"}, "arn:aws:s3:::*"), true},
		{"write on every object", stmt(nil, []string{"s3:PutObject"}, "arn:aws:s3:::*/*"), true},
		{"a condition other than the opt-in", stmt(other, []string{"iam:PutRolePolicy"}, "*"), true},
		{"no resource", stmt(nil, []string{"iam:PutRolePolicy"}), true},
		{"an exception's action on another resource", stmt(nil, []string{"bedrock:UpdateGuardrail"}, "*"), true},
		{"write on a wildcard-led name", stmt(nil, []string{"iam:PutRolePolicy"}, "arn:aws:iam::*:role/*-app"), true},
		{"write on a non-ARN", stmt(nil, []string{"iam:PutRolePolicy"}, "role/app"), true},
		{"the opt-in condition on *", stmt(optIn, []string{"iam:PutRolePolicy", "iam:UpdateAccessKey"}, "*"), false},
		{"reads on *", stmt(nil, []string{"iam:GetRole", "bedrock:ListGuardrails", "cloudtrail:LookupEvents", "apigateway:GET"}, "*"), false},
		{"a named role", stmt(nil, []string{"sts:AssumeRole"}, "arn:aws:iam::*:role/quench-containment"), false},
		{"a named prefix", stmt(nil, []string{"ssm:PutParameter"}, "arn:aws:ssm:*:*:parameter/quench/*"), false},
		{"a named bucket and its objects", stmt(nil, []string{"s3:PutObject"}, "arn:aws:s3:::kb-source", "arn:aws:s3:::kb-source/*"), false},
		{"an account-level write", stmt(nil, []string{"bedrock:PutModelInvocationLoggingConfiguration"}, "*"), false},
	} {
		if got := len(unscopedWritesIn([]workerStatement{tc.stmt})) > 0; got != tc.bad {
			t.Errorf("%s: flagged = %v, want %v", tc.name, got, tc.bad)
		}
	}
}

// permissionScopes (errors.go) must say of each permission what the policy
// does: the opt-in tag for exactly the actions a tag-conditioned statement
// allows, and a scope for every action a statement allows on named
// resources only, so an access-denied message never sends the operator to
// the wrong fix.
func TestAccessDeniedScopesMatchTheWorkerPolicy(t *testing.T) {
	stmts := loadWorkerPolicy(t)
	inPolicy, tagged := map[string]bool{}, map[string]bool{}
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			inPolicy[a] = true
			tagged[a] = tagged[a] || hasOptIn(s)
		}
		if hasOptIn(s) || slices.ContainsFunc(s.Resource, unscoped) {
			continue
		}
		for _, a := range s.Action {
			// A denied sts:AssumeRole has its own message (errors.go).
			if permissionScopes[a] == "" && a != "sts:AssumeRole" {
				t.Errorf("statement %s grants %s only on %v, but errors.go names no scope for it", s.Sid, a, s.Resource)
			}
		}
	}
	for a := range inPolicy {
		if says := strings.Contains(permissionScopes[a], "tagged "+optInTag); says != tagged[a] {
			t.Errorf("errors.go says %s needs the opt-in tag: %v; the policy: %v", a, says, tagged[a])
		}
	}
	for p := range permissionScopes {
		if !inPolicy[p] {
			t.Errorf("errors.go names a scope for %s, which the worker policy does not grant", p)
		}
	}
}

// called is every IAM action some test's calls needed, over the whole run.
var called = struct {
	sync.Mutex
	actions map[string]bool
}{actions: map[string]bool{}}

func recordCalled(calls []awsfake.Call) {
	called.Lock()
	defer called.Unlock()
	for _, c := range calls {
		for _, a := range iamActions(c) {
			called.actions[strings.ToLower(a)] = true
		}
	}
}

// TestMain checks, after a full run of the package's tests, that the
// worker policy grants nothing the code never calls: a permission that
// stays in the policy after the code stops needing it widens what a
// stolen worker credential can do.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		if unused := unusedPermissions(); len(unused) > 0 {
			fmt.Fprintf(os.Stderr, "deploy/iam-policy.json allows actions no code calls (remove them, or test the code that needs them): %v\n", unused)
			code = 1
		}
	}
	os.Exit(code)
}

func unusedPermissions() []string {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "iam-policy.json"))
	if err != nil {
		return []string{"read policy: " + err.Error()}
	}
	var doc struct{ Statement []workerStatement }
	if err := json.Unmarshal(b, &doc); err != nil {
		return []string{"parse policy: " + err.Error()}
	}
	called.Lock()
	defer called.Unlock()
	var unused []string
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			used := false
			for c := range called.actions {
				if iamPattern(a).MatchString(c) {
					used = true
					break
				}
			}
			if !used {
				unused = append(unused, a)
			}
		}
	}
	return unused
}

// TestBuiltinRunbooksCallTheAWSActionsWithTheirArguments catches a
// built-in runbook and an action spec drifting apart: the library skips a
// built-in that does not validate, so nothing else would fail loudly.
func TestBuiltinRunbooksCallTheAWSActionsWithTheirArguments(t *testing.T) {
	_, p := newTestAWS(t)
	reg := catalog(p)
	files, err := filepath.Glob(filepath.Join("..", "..", "runbooks", "builtin", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no built-in runbooks found: %v", err)
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := runbooks.Parse(f, data)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, s := range rb.Steps {
			spec, ok := reg.Action(s.Action)
			if !ok {
				continue
			}
			checked++
			if err := runbooks.CheckArgs(spec, withPlaceholders(spec, s.With)); err != nil {
				t.Errorf("%s step %s: %v", filepath.Base(f), s.ID, err)
			}
		}
	}
	if checked == 0 {
		t.Error("no built-in runbook uses an AWS action")
	}
}

// withPlaceholders stands in a value of the declared type for every
// ${{ }} argument, which is only known at run time.
func withPlaceholders(spec runbooks.ActionSpec, with map[string]any) map[string]any {
	args := map[string]runbooks.ArgSpec{}
	for _, a := range spec.Args {
		args[a.Name] = a
	}
	out := map[string]any{}
	for k, v := range with {
		if s, ok := v.(string); ok && strings.Contains(s, "${{") {
			a := args[k]
			word := "x"
			if len(a.Enum) > 0 {
				word = a.Enum[0]
			}
			v = map[string]any{"int": 1, "number": 1.5, "bool": true, "duration": "1h", "list": []any{word}, "map": map[string]any{}}[a.Type]
			if v == nil {
				v = word
			}
		}
		out[k] = v
	}
	return out
}
