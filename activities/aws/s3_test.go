package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/internal/testing/awsfake"
	"github.com/quenchhq/quench/workflows/contract"
)

func init() {
	fakeRegistrars = append(fakeRegistrars, func(s *awsfake.Server) { awsfake.RegisterS3(s) })
}

func fakeS3(srv *awsfake.Server) *awsfake.S3 { return srv.Handler("s3").(*awsfake.S3) }

func newTestS3(t *testing.T) (*awsfake.Server, *awsfake.S3, *S3Actions, map[string]action.Func) {
	t.Helper()
	srv, p := newTestAWS(t)
	a := NewS3Actions(p)
	a.poll = testPoll
	a.Now = func() time.Time { return s3T0.Add(24 * time.Hour) }
	fake := fakeS3(srv)
	fake.AddBucket("kb-docs", true)
	return srv, fake, a, map[string]action.Func{ActionUnblockPrefixWrites: act(a, ActionUnblockPrefixWrites)}
}

var s3T0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// The statement quench adds for testIncident on kb-docs/docs/ (the fake
// STS answers every caller with user id AIDAFAKE).
func quenchStatement(sid string) string {
	return `{"Sid":"` + sid + `","Effect":"Deny","Principal":"*","Action":["s3:PutObject","s3:PutObjectAcl","s3:PutObjectVersionAcl","s3:PutObjectTagging","s3:PutObjectVersionTagging","s3:PutObjectRetention","s3:PutObjectLegalHold","s3:DeleteObject","s3:DeleteObjectVersion","s3:DeleteObjectTagging","s3:DeleteObjectVersionTagging","s3:ReplicateObject","s3:ReplicateDelete"],"Resource":"arn:aws:s3:::kb-docs/docs/*","Condition":{"StringNotLike":{"aws:userid":"AIDAFAKE"}}}`
}

const (
	readStmt = `{
      "Sid": "AllowAppRead",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
      "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::kb-docs/*"
    }`
	tlsStmt = `{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::kb-docs","arn:aws:s3:::kb-docs/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`
)

func TestS3BlockPrefixWritesContainsIdempotentlyAndUndoesExactly(t *testing.T) {
	sid := blockSid(testIncident.ID, "docs/", nil)
	for _, tc := range []struct {
		name, prior string // "" = no bucket policy
		want        string // the policy after containment
	}{
		{name: "no policy before", want: `{"Version":"2012-10-17","Statement":[` + quenchStatement(sid) + `]}`},
		{name: "a pretty-printed policy",
			prior: "{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"kb\",\n  \"Statement\": [\n    " + readStmt + ",\n    " + tlsStmt + "\n  ]\n}\n",
			want:  "{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"kb\",\n  \"Statement\": [\n    " + readStmt + ",\n    " + tlsStmt + "," + quenchStatement(sid) + "\n  ]\n}\n"},
		{name: "one bare statement", prior: `{"Version":"2012-10-17","Statement":` + tlsStmt + `}`,
			want: `{"Version":"2012-10-17","Statement":[` + tlsStmt + `,` + quenchStatement(sid) + `]}`},
		{name: "an empty statement list", prior: `{"Version":"2012-10-17","Statement":[ ]}`,
			want: `{"Version":"2012-10-17","Statement":[` + quenchStatement(sid) + ` ]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, undo := newTestS3(t)
			fake.SetBucketPolicy("kb-docs", tc.prior)
			before := srv.State()
			in := actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/"})
			res := mustRun(t, act(a, ActionBlockPrefixWrites), in)
			if got, _ := fake.BucketPolicy("kb-docs"); got != tc.want {
				t.Errorf("policy after containment:\n%s\nwant\n%s", got, tc.want)
			}
			if !res.Changed || res.Undo == nil || res.Output["sid"] != sid || res.Output["resource"] != "arn:aws:s3:::kb-docs/docs/*" {
				t.Fatalf("result %+v", res)
			}
			srv.ResetCalls()
			if again := mustRun(t, act(a, ActionBlockPrefixWrites), in); again.Changed || again.Undo != nil || len(mutatingOps(srv)) != 0 {
				t.Errorf("second run: changed=%v undo=%v calls=%v", again.Changed, again.Undo, mutatingOps(srv))
			}
			mustUndo(t, srv, undo, res)
			if diff := before.Diff(srv.State()); diff != nil {
				t.Errorf("after undo the account differs: %v", diff)
			}
			if fake.ConfirmRemoveSelfBucketAccessCalls() != 0 {
				t.Error("quench confirmed removing its own access to the bucket")
			}
		})
	}
}

func TestS3UnblockPrefixWritesKeepsOthersChanges(t *testing.T) {
	sid := blockSid(testIncident.ID, "docs/", nil)
	ours := quenchStatement(sid)
	for _, tc := range []struct {
		name, prior string
		meanwhile   string // the policy someone put while contained
		want        string // after undo; "" = no policy
	}{
		{name: "a statement added", prior: `{"Version":"2012-10-17","Statement":[` + tlsStmt + `]}`,
			meanwhile: `{"Version":"2012-10-17","Statement":[` + readStmt + `,` + tlsStmt + `,` + ours + `]}`,
			want:      `{"Version":"2012-10-17","Statement":[` + readStmt + `,` + tlsStmt + `]}`},
		{name: "ours first, a statement added after it, no policy before",
			meanwhile: `{"Version":"2012-10-17","Statement":[` + ours + `, ` + tlsStmt + `]}`,
			want:      `{"Version":"2012-10-17","Statement":[` + tlsStmt + `]}`},
		{name: "every other statement removed", prior: `{"Version":"2012-10-17","Statement":[` + tlsStmt + `]}`,
			meanwhile: `{"Version":"2012-10-17","Statement":[` + ours + `]}`},
		{name: "ours already removed by hand", prior: `{"Version":"2012-10-17","Statement":[` + tlsStmt + `]}`,
			meanwhile: `{"Version":"2012-10-17","Statement":[` + readStmt + `]}`,
			want:      `{"Version":"2012-10-17","Statement":[` + readStmt + `]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, _ := newTestS3(t)
			fake.SetBucketPolicy("kb-docs", tc.prior)
			res := mustRun(t, act(a, ActionBlockPrefixWrites), actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/"}))
			fake.SetBucketPolicy("kb-docs", tc.meanwhile)
			args := undoArgs(t, res)
			srv.ResetCalls()
			got := mustRun(t, act(a, ActionUnblockPrefixWrites), contract.ActionInput{Incident: testIncident, Step: "undo", Args: args})
			policy, ok := fake.BucketPolicy("kb-docs")
			if policy != tc.want || ok != (tc.want != "") {
				t.Errorf("after undo policy = %q (exists %v), want %q", policy, ok, tc.want)
			}
			if wantChange := !strings.Contains(tc.name, "already removed"); got.Changed != wantChange || (len(mutatingOps(srv)) != 0) != wantChange {
				t.Errorf("undo changed=%v calls=%v: %s", got.Changed, mutatingOps(srv), got.Summary)
			}
		})
	}
}

func undoArgs(t *testing.T, res contract.ActionResult) map[string]any {
	t.Helper()
	if res.Undo == nil {
		t.Fatal("no undo record")
	}
	b, _ := json.Marshal(res.Undo.Args)
	var args map[string]any
	_ = json.Unmarshal(b, &args)
	return args
}

func TestS3BlockPrefixWritesDryRunThrottleAndAccessDenied(t *testing.T) {
	srv, fake, a, _ := newTestS3(t)
	fake.SetBucketPolicy("kb-docs", `{"Version":"2012-10-17","Statement":[`+tlsStmt+`]}`)
	in := actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/"})

	res := mustRun(t, act(a, ActionBlockPrefixWrites), dryRun(in))
	if !res.Changed || !strings.HasPrefix(res.Summary, "would deny writes to s3://kb-docs/docs/*") || res.Undo != nil || len(mutatingOps(srv)) != 0 {
		t.Errorf("dry run %+v calls %v", res, mutatingOps(srv))
	}

	srv.InjectFault(awsfake.Fault{Operation: "PutBucketPolicy", Code: "AccessDenied", Status: 403})
	_, err := act(a, ActionBlockPrefixWrites)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "s3:PutBucketPolicy", "kb-docs")
	srv.InjectFault(awsfake.Fault{Operation: "GetBucketPolicy", Code: "AccessDenied", Status: 403})
	_, err = act(a, ActionBlockPrefixWrites)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "s3:GetBucketPolicy")

	srv.InjectFault(awsfake.Fault{Operation: "PutBucketPolicy", Code: "SlowDown", Status: 503, Times: 3})
	res = mustRun(t, act(a, ActionBlockPrefixWrites), in)
	if got, _ := fake.BucketPolicy("kb-docs"); !res.Changed || !strings.Contains(got, res.Output["sid"].(string)) {
		t.Errorf("not blocked after three SlowDowns: %s", got)
	}
	if n := countCalls(srv, "PutBucketPolicy"); n != 5 {
		t.Errorf("PutBucketPolicy called %d times, want 5 (denied, 3 throttled, then done)", n)
	}

	// Undo in a dry run makes no call either.
	before := len(srv.MutatingCalls())
	if u := mustRun(t, act(a, ActionUnblockPrefixWrites), dryRun(contract.ActionInput{Incident: testIncident, Args: undoArgs(t, res)})); !u.Changed || !strings.HasPrefix(u.Summary, "would remove statement") {
		t.Errorf("dry-run undo %+v", u)
	}
	if len(srv.MutatingCalls()) != before {
		t.Errorf("dry-run undo made mutating calls %v", srv.MutatingCalls()[before:])
	}
}

func TestS3BlockPrefixWritesArguments(t *testing.T) {
	srv, fake, a, _ := newTestS3(t)
	for _, tc := range []struct {
		args map[string]any
		typ  string
		want string
	}{
		{map[string]any{"bucket": "kb-docs", "prefix": "docs/*"}, action.ErrInvalidArgument, "wildcards"},
		{map[string]any{"bucket": "KB_Docs", "prefix": "docs/"}, action.ErrInvalidArgument, "bucket name"},
		{map[string]any{"bucket": "kb-docs", "prefix": "docs/", "principals": []any{"*"}}, action.ErrInvalidArgument, "principal"},
		{map[string]any{"bucket": "kb-docs", "prefix": ""}, action.ErrInvalidArgument, "prefix"},
	} {
		_, err := act(a, ActionBlockPrefixWrites)(context.Background(), actionInput(tc.args))
		assertNonRetryable(t, err, tc.typ, tc.want)
	}
	// A statement under quench's Sid that someone edited is not overwritten.
	sid := blockSid(testIncident.ID, "docs/", nil)
	edited := strings.Replace(quenchStatement(sid), `"s3:PutObject",`, ``, 1)
	fake.SetBucketPolicy("kb-docs", `{"Version":"2012-10-17","Statement":[`+edited+`]}`)
	_, err := act(a, ActionBlockPrefixWrites)(context.Background(), actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/"}))
	assertNonRetryable(t, err, action.ErrValidation, sid, "differs")
	if len(mutatingOps(srv)) != 0 {
		t.Errorf("mutating calls %v", mutatingOps(srv))
	}
}

func TestS3BlockPrefixWritesNamedPrincipalsAndPolicySizeLimit(t *testing.T) {
	_, fake, a, _ := newTestS3(t)
	res := mustRun(t, act(a, ActionBlockPrefixWrites), actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/",
		"principals": []any{"arn:aws:iam::123456789012:role/ingest", "210987654321"}}))
	policy, _ := fake.BucketPolicy("kb-docs")
	var doc struct{ Statement []denyStatement }
	if err := json.Unmarshal([]byte(policy), &doc); err != nil || len(doc.Statement) != 1 {
		t.Fatalf("policy %s: %v", policy, err)
	}
	p, _ := json.Marshal(doc.Statement[0].Principal)
	if string(p) != `{"AWS":["210987654321","arn:aws:iam::123456789012:role/ingest"]}` || doc.Statement[0].Sid != res.Output["sid"] || res.Output["sid"] == blockSid(testIncident.ID, "docs/", nil) {
		t.Errorf("statement %+v principal %s", doc.Statement[0], p)
	}

	_, fake2, a2, _ := newTestS3(t)
	big := `{"Version":"2012-10-17","Statement":[{"Sid":"Big","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::kb-docs/` + strings.Repeat("x", 20*1024-200) + `"}]}`
	fake2.SetBucketPolicy("kb-docs", big)
	_, err := act(a2, ActionBlockPrefixWrites)(context.Background(), actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/"}))
	assertNonRetryable(t, err, action.ErrValidation, "over S3's limit")
}

func TestS3ExemptUserIDCoversEveryRoleSession(t *testing.T) {
	for in, want := range map[string]string{
		"AROAEXAMPLEID:quench-inc-42": "AROAEXAMPLEID:*",
		"AIDAEXAMPLEUSER":             "AIDAEXAMPLEUSER",
		"123456789012":                "123456789012",
	} {
		if got := exemptUserID(in); got != want {
			t.Errorf("exemptUserID(%q) = %q, want %q", in, got, want)
		}
	}
}

// seedChanges writes a knowledge-base prefix's history: a.txt poisoned
// after since, b.txt deleted after since, c.txt created after since,
// d.txt untouched, and other/ outside the prefix.
func seedChanges(fake *awsfake.S3) (since time.Time, ids map[string]string) {
	since = s3T0.Add(time.Hour)
	ids = map[string]string{
		"a1":  fake.PutObject("kb-docs", "docs/a.txt", "alpha", s3T0),
		"a2":  fake.PutObject("kb-docs", "docs/a.txt", "alpha v2", s3T0.Add(30*time.Minute)),
		"a3":  fake.PutObject("kb-docs", "docs/a.txt", "POISON", since.Add(time.Minute)),
		"b1":  fake.PutObject("kb-docs", "docs/b.txt", "bravo", s3T0),
		"bx":  fake.DeleteObject("kb-docs", "docs/b.txt", since.Add(2*time.Minute)),
		"c1":  fake.PutObject("kb-docs", "docs/c.txt", "POISON", since.Add(3*time.Minute)),
		"d1":  fake.PutObject("kb-docs", "docs/d.txt", "delta", s3T0),
		"o1":  fake.PutObject("kb-docs", "other/a.txt", "x", since.Add(time.Minute)),
		"at0": fake.PutObject("kb-docs", "docs/e.txt", "edge", since), // at since exactly: a change
	}
	return since, ids
}

func TestS3ListChangedObjectsFindsVersionsSinceAndWhatToRestore(t *testing.T) {
	srv, fake, a, _ := newTestS3(t)
	since, ids := seedChanges(fake)
	a.list = listBounds{size: 2, pages: 20} // page through the listing
	res := mustRun(t, act(a, ActionListChangedObjects), actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/", "since": since.Format(time.RFC3339)}))
	out := res.Output
	if out["count"] != 4 || out["keys"] != 4 || out["truncated"] != false || out["versioned"] != true || out["scanned"] != 8 {
		t.Errorf("output %v", out)
	}
	var keys []string
	for _, k := range out["changed_keys"].([]any) {
		k := k.(map[string]any)
		keys = append(keys, fmt.Sprintf("%s:%v:%v:%v", k["key"], k["changes"], k["version_before"] == "" || k["version_before"] == ids["a2"] || k["version_before"] == ids["b1"], k["existed_before"]))
	}
	if got := strings.Join(keys, " "); got != "docs/a.txt:1:true:true docs/b.txt:1:true:true docs/c.txt:1:true:false docs/e.txt:1:true:false" {
		t.Errorf("changed keys %s", got)
	}
	ck := out["changed_keys"].([]any)
	if ck[0].(map[string]any)["version_before"] != ids["a2"] || ck[1].(map[string]any)["version_before"] != ids["b1"] || ck[1].(map[string]any)["latest_is_delete_marker"] != true {
		t.Errorf("restore candidates %v", ck)
	}
	first := out["changes"].([]any)[0].(map[string]any)
	if first["version_id"] != ids["a3"] || first["is_latest"] != true || first["size"] != int64(6) {
		t.Errorf("first change %v", first)
	}
	if len(srv.MutatingCalls()) != 0 {
		t.Error("evidence made mutating calls")
	}

	// Bounded: max_results cuts the lists and says so; a page bound stops the scan.
	res = mustRun(t, act(a, ActionListChangedObjects), actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/", "since": "25h", "max_results": 1}))
	if res.Output["truncated"] != true || len(res.Output["changes"].([]any)) != 1 || !strings.Contains(res.Output["truncated_reason"].(string), "max_results") {
		t.Errorf("max_results 1: %v", res.Output)
	}
	a.list = listBounds{size: 2, pages: 1}
	res = mustRun(t, act(a, ActionListChangedObjects), actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/", "since": "25h"}))
	if res.Output["truncated"] != true || res.Output["scanned"] != 2 || !strings.Contains(res.Summary, "truncated: stopped after scanning 2 versions") {
		t.Errorf("page bound: %s %v", res.Summary, res.Output)
	}
}

func TestS3ListChangedObjectsThrottleAccessDeniedAndUnversionedBuckets(t *testing.T) {
	srv, fake, a, _ := newTestS3(t)
	since, _ := seedChanges(fake)
	in := actionInput(map[string]any{"bucket": "kb-docs", "prefix": "docs/", "since": since.Format(time.RFC3339)})
	srv.InjectFault(awsfake.Fault{Operation: "ListObjectVersions", Code: "SlowDown", Status: 503, Times: 3})
	if res := mustRun(t, act(a, ActionListChangedObjects), in); res.Output["count"] != 4 {
		t.Errorf("after throttling: %v", res.Output)
	}
	srv.InjectFault(awsfake.Fault{Operation: "ListObjectVersions", Code: "AccessDenied", Status: 403})
	_, err := act(a, ActionListChangedObjects)(context.Background(), in)
	assertNonRetryable(t, err, action.ErrAccessDenied, "s3:ListBucketVersions", "kb-docs")
	_, err = act(a, ActionListChangedObjects)(context.Background(), actionInput(map[string]any{"bucket": "kb-docs", "since": "yesterday"}))
	assertNonRetryable(t, err, action.ErrInvalidArgument, "since")

	fake.AddBucket("flat", false)
	fake.PutObject("flat", "docs/a.txt", "x", since.Add(time.Minute))
	res := mustRun(t, act(a, ActionListChangedObjects), actionInput(map[string]any{"bucket": "flat", "since": since.Format(time.RFC3339)}))
	if res.Output["versioned"] != false || !strings.Contains(res.Summary, "keeps no versions") {
		t.Errorf("unversioned bucket: %s", res.Summary)
	}
}

func TestS3RestoreObjectVersionMakesItCurrentWithNoUndo(t *testing.T) {
	for _, tc := range []struct{ name, key, version string }{
		{"over a poisoned version", "docs/a.txt", "a2"},
		{"over a delete marker", "docs/b.txt", "b1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fake, a, _ := newTestS3(t)
			_, ids := seedChanges(fake)
			replaced := fake.Versions("kb-docs", tc.key)[0]
			in := actionInput(map[string]any{"bucket": "kb-docs", "key": tc.key, "version_id": ids[tc.version]})
			dry := mustRun(t, act(a, ActionRestoreObjectVersion), dryRun(in))
			if !dry.Changed || !strings.HasPrefix(dry.Summary, "would restore s3://kb-docs/"+tc.key) || len(mutatingOps(srv)) != 0 {
				t.Errorf("dry run %+v calls %v", dry, mutatingOps(srv))
			}
			before := srv.State()
			res := mustRun(t, act(a, ActionRestoreObjectVersion), in)
			vs := fake.Versions("kb-docs", tc.key)
			var want string
			for _, v := range vs {
				if v.VersionID == ids[tc.version] {
					want = v.Body
				}
			}
			if vs[0].Body != want || vs[0].VersionID != res.Output["new_version_id"] || vs[1].VersionID != replaced.VersionID {
				t.Errorf("versions after restore %+v, output %v", vs, res.Output)
			}
			// Exactly one version added to this key, nothing else touched.
			if diff := before.Diff(srv.State()); len(awsfake.Resources(diff)) != 1 || awsfake.Resources(diff)[0] != "s3/object/kb-docs/"+tc.key {
				t.Errorf("restore changed %v", diff)
			}
			if !res.Changed || res.Undo != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "not undone when the incident is rolled back, by design") ||
				!strings.Contains(res.Warnings[0], replaced.VersionID) || res.Output["replaced_version_id"] != replaced.VersionID {
				t.Errorf("result %+v", res)
			}
			srv.ResetCalls()
			if again := mustRun(t, act(a, ActionRestoreObjectVersion), in); again.Changed || len(mutatingOps(srv)) != 0 {
				t.Errorf("second run changed=%v calls=%v: %s", again.Changed, mutatingOps(srv), again.Summary)
			}
		})
	}
}

func TestS3RestoreObjectVersionRefusalsThrottleAndAccessDenied(t *testing.T) {
	srv, fake, a, _ := newTestS3(t)
	_, ids := seedChanges(fake)
	run := func(key, version string) error {
		_, err := act(a, ActionRestoreObjectVersion)(context.Background(), actionInput(map[string]any{"bucket": "kb-docs", "key": key, "version_id": version}))
		return err
	}
	assertNonRetryable(t, run("docs/a.txt", ids["b1"]), action.ErrNotFound, "no version "+ids["b1"])
	assertNonRetryable(t, run("docs/b.txt", ids["bx"]), action.ErrValidation, "delete marker")
	srv.InjectFault(awsfake.Fault{Operation: "CopyObject", Code: "AccessDenied", Status: 403})
	assertNonRetryable(t, run("docs/a.txt", ids["a1"]), action.ErrAccessDenied, "s3:GetObjectVersion and s3:PutObject", "s3://kb-docs/docs/a.txt")
	if len(fake.Versions("kb-docs", "docs/a.txt")) != 3 {
		t.Error("a refused restore added a version")
	}
	srv.InjectFault(awsfake.Fault{Operation: "CopyObject", Code: "SlowDown", Status: 503, Times: 3})
	if err := run("docs/a.txt", ids["a1"]); err != nil {
		t.Fatal(err)
	}
	if vs := fake.Versions("kb-docs", "docs/a.txt"); len(vs) != 4 || vs[0].Body != "alpha" {
		t.Errorf("after throttled restore %+v", vs)
	}
	// A key that has an older prefix sibling (docs/a.txt vs docs/a.txt.bak) reads only its own versions.
	fake.PutObject("kb-docs", "docs/a.txt.bak", "bak", s3T0)
	srv.ResetCalls()
	if err := run("docs/a.txt", ids["a1"]); err != nil || len(mutatingOps(srv)) != 0 {
		t.Errorf("restore of the already-current version: err %v, calls %v", err, mutatingOps(srv))
	}
}
