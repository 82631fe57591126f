package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// S3 action names.
const (
	ActionBlockPrefixWrites    = "s3.block_prefix_writes"
	ActionUnblockPrefixWrites  = "s3.unblock_prefix_writes"
	ActionListChangedObjects   = "s3.list_changed_objects"
	ActionRestoreObjectVersion = "s3.restore_object_version"
)

// S3API is the part of the S3 client the actions use.
type S3API interface {
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, opts ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, opts ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
	DeleteBucketPolicy(ctx context.Context, in *s3.DeleteBucketPolicyInput, opts ...func(*s3.Options)) (*s3.DeleteBucketPolicyOutput, error)
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, opts ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, opts ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
}

// S3Actions contain and recover an S3 data source (a knowledge base's
// documents): block writes to a prefix, list what changed, restore a
// version.
type S3Actions struct {
	clients func(ctx context.Context, ref contract.IncidentRef) (S3API, error)
	callers func(ctx context.Context, ref contract.IncidentRef) (CallerAPI, error)
	poll    PollConfig
	// Now is the clock a relative `since` counts back from; tests pin it.
	Now  func() time.Time
	list listBounds
}

// NewS3Actions builds the S3 actions on real clients from p.
func NewS3Actions(p *Provider) *S3Actions {
	return &S3Actions{
		clients: clientsFrom(p, func(cfg aws.Config) S3API {
			return s3.NewFromConfig(cfg, func(o *s3.Options) {
				// An endpoint override is an emulator or a test server, which
				// do not resolve bucket.host names; AWS itself keeps
				// virtual-hosted addressing.
				o.UsePathStyle = o.BaseEndpoint != nil
			})
		}),
		callers: clientsFrom(p, func(cfg aws.Config) CallerAPI { return sts.NewFromConfig(cfg) }),
		poll:    DefaultPollConfig,
		Now:     time.Now,
		list:    defaultListBounds,
	}
}

// Actions returns the S3 actions and their undo action.
func (a *S3Actions) Actions() []action.Action {
	return []action.Action{
		action.New(runbooks.ActionSpec{
			Name: ActionBlockPrefixWrites,
			Description: "Deny writes and deletes (s3:PutObject, s3:DeleteObject, their ACL, tagging, retention and replication forms) under s3://bucket/prefix with one statement added to the bucket policy; every other statement is kept byte for byte, quench's own identity is exempt (so it can restore objects) and bucket-policy permissions are never denied (so the block can always be undone). " +
				"Undo removes exactly that statement, keeping any change others made meanwhile, and deletes the policy when there was none before.",
			Mutating: true,
			Args: []runbooks.ArgSpec{
				{Name: "bucket", Type: "string", Required: true, Description: "bucket name"},
				{Name: "prefix", Type: "string", Required: true, Description: "key prefix to block, e.g. kb/docs/ (no * or ?)"},
				{Name: "principals", Type: "list", Description: "IAM principal ARNs or account ids to deny (default: everyone)"},
			},
		}, a.BlockPrefixWrites),
		action.New(runbooks.ActionSpec{
			Name:        ActionUnblockPrefixWrites,
			Description: "Undo of s3.block_prefix_writes: remove quench's statement from the bucket policy, putting back the prior policy exactly (or deleting it when there was none) unless others changed it meanwhile, whose changes are kept.",
			Mutating:    true,
			UndoOnly:    true,
			Args: []runbooks.ArgSpec{
				{Name: "bucket", Type: "string", Required: true, Description: "bucket name"},
				{Name: "sid", Type: "string", Required: true, Description: "Sid of the statement quench added"},
				{Name: "existed", Type: "bool", Required: true, Description: "whether the bucket had a policy before"},
				{Name: "prior_policy", Type: "string", Description: "the policy text before containment"},
			},
		}, a.UnblockPrefixWrites),
		action.New(runbooks.ActionSpec{
			Name:        ActionListChangedObjects,
			Description: "Read-only evidence: the object versions and delete markers written under s3://bucket/prefix since a time (ListObjectVersions, paginated and bounded), and for each changed key the version that was current before (the one to restore).",
			Args: []runbooks.ArgSpec{
				{Name: "bucket", Type: "string", Required: true, Description: "bucket name"},
				{Name: "prefix", Type: "string", Description: "key prefix (default: the whole bucket)"},
				{Name: "since", Type: "string", Required: true, Description: "an RFC 3339 time (2026-11-20T10:00:00Z) or a duration back from now (48h)"},
				{Name: "max_results", Type: "int", Min: runbooks.AtLeast(1), Description: "most changes and keys to list (default 200, at most 1000)"},
			},
		}, a.ListChangedObjects),
		action.New(runbooks.ActionSpec{
			Name: ActionRestoreObjectVersion,
			Description: "Make a prior version of an object current again by copying it over the key (CopyObject from the version, keeping its metadata and storage class). " +
				"Not undone on rollback, by design: the restored object stays, and the version it replaced remains in the object's history. Run it behind an approval.",
			Mutating:       true,
			KeptOnRollback: true,
			Args: []runbooks.ArgSpec{
				{Name: "bucket", Type: "string", Required: true, Description: "bucket name"},
				{Name: "key", Type: "string", Required: true, Description: "object key"},
				{Name: "version_id", Type: "string", Required: true, Description: "the version to make current, e.g. changed_keys[].version_before of s3.list_changed_objects"},
			},
		}, a.RestoreObjectVersion),
	}
}

var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func checkBucket(act, bucket string) error {
	if !bucketNameRE.MatchString(bucket) {
		return action.InvalidArg(act, "bucket %q is not a valid S3 bucket name", bucket)
	}
	return nil
}

// writeBlockActions are the object writes the block denies: every way to
// change or remove an object's content, or to change who can, under the
// prefix. Bucket-level actions (s3:PutBucketPolicy above all) are never
// here, so quench can always undo the block.
var writeBlockActions = []string{
	"s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
	"s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:DeleteObject", "s3:DeleteObjectVersion",
	"s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", "s3:ReplicateObject", "s3:ReplicateDelete",
}

var principalRE = regexp.MustCompile(`^(\d{12}|arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|user/.+|role/.+|assumed-role/.+/.+))$`)

type blockArgs struct {
	Bucket     string   `json:"bucket"`
	Prefix     string   `json:"prefix"`
	Principals []string `json:"principals,omitempty"`
}

// denyStatement is the statement quench adds; the field order is the
// order it is written in.
type denyStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal any                          `json:"Principal"`
	Action    []string                     `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition"`
}

// bucketPolicy is a bucket's policy as read.
type bucketPolicy struct {
	Exists bool   `json:"exists"`
	Text   string `json:"text,omitempty"`
}

func readBucketPolicy(ctx context.Context, c S3API, bucket string) (bucketPolicy, error) {
	out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchBucketPolicy" {
		return bucketPolicy{}, nil
	}
	if err != nil {
		return bucketPolicy{}, AWSError("s3", "GetBucketPolicy", "bucket "+bucket, err)
	}
	return bucketPolicy{Exists: true, Text: aws.ToString(out.Policy)}, nil
}

// writeBucketPolicy puts want (or deletes the policy when want does not
// exist) and polls until it reads back. It never sets
// ConfirmRemoveSelfBucketAccess: S3 then refuses a policy that would lock
// quench out of the bucket policy.
func (a *S3Actions) writeBucketPolicy(ctx context.Context, c S3API, bucket string, want bucketPolicy) error {
	if want.Exists {
		if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(want.Text)}); err != nil {
			return AWSError("s3", "PutBucketPolicy", "bucket "+bucket, err)
		}
	} else if _, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
		return AWSError("s3", "DeleteBucketPolicy", "bucket "+bucket, err)
	}
	return PollUntil(ctx, a.poll, "policy of bucket "+bucket, func(ctx context.Context) (bool, error) {
		got, err := readBucketPolicy(ctx, c, bucket)
		return got.Exists == want.Exists && (!want.Exists || sameBucketPolicy(got.Text, want.Text)), err
	})
}

// callerExemption is the aws:userid pattern of the identity quench acts
// as, and the partition it is in. A role session's userid is
// ROLEID:session, so the pattern exempts the role (by its unique id: a
// role recreated under the same name is not exempt), not just this session.
func (a *S3Actions) callerExemption(ctx context.Context, ref contract.IncidentRef) (pattern, partition string, err error) {
	c, err := a.callers(ctx, ref)
	if err != nil {
		return "", "", err
	}
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", AWSError("sts", "GetCallerIdentity", "the worker's identity", err)
	}
	id := exemptUserID(aws.ToString(out.UserId))
	if id == "" {
		return "", "", fmt.Errorf("the worker's identity has no user id")
	}
	partition = "aws"
	if parts := strings.SplitN(aws.ToString(out.Arn), ":", 3); len(parts) == 3 && parts[1] != "" {
		partition = parts[1]
	}
	return id, partition, nil
}

// exemptUserID turns GetCallerIdentity's UserId into the aws:userid
// pattern of the identity: a user's or the root's id as is, a role
// session's (ROLEID:session) for every session of the role.
func exemptUserID(userID string) string {
	if roleID, _, ok := strings.Cut(userID, ":"); ok {
		return roleID + ":*"
	}
	return userID
}

// blockSid names quench's statement: per incident, and per prefix and
// principals so one incident can block several prefixes of a bucket.
func blockSid(incident, prefix string, principals []string) string {
	h := sha256.Sum256([]byte(prefix + "\x00" + strings.Join(principals, "\x00")))
	var id strings.Builder
	for _, r := range incident {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			id.WriteRune(r)
		}
	}
	return "quench-block-" + id.String() + "-" + hex.EncodeToString(h[:4])
}

// BlockPrefixWrites adds the deny statement to the bucket policy.
func (a *S3Actions) BlockPrefixWrites(ctx context.Context, in contract.ActionInput, args blockArgs) (contract.ActionResult, error) {
	if err := checkBucket(ActionBlockPrefixWrites, args.Bucket); err != nil {
		return contract.ActionResult{}, err
	}
	if strings.ContainsAny(args.Prefix, "*?") {
		return contract.ActionResult{}, action.InvalidArg(ActionBlockPrefixWrites, "prefix %q must not contain * or ?, which a policy reads as wildcards", args.Prefix)
	}
	principals := slices.Clone(args.Principals)
	slices.Sort(principals)
	principals = slices.Compact(principals)
	for _, p := range principals {
		if !principalRE.MatchString(p) {
			return contract.ActionResult{}, action.InvalidArg(ActionBlockPrefixWrites, "principal %q is not an IAM principal ARN or a 12-digit account id (leave principals out to deny everyone)", p)
		}
	}
	exempt, partition, err := a.callerExemption(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("block writes to s3://%s/%s: %w", args.Bucket, args.Prefix, err)
	}
	stmt := denyStatement{
		Sid: blockSid(in.Incident.ID, args.Prefix, principals), Effect: "Deny", Principal: "*", Action: writeBlockActions,
		Resource:  fmt.Sprintf("arn:%s:s3:::%s/%s*", partition, args.Bucket, args.Prefix),
		Condition: map[string]map[string]string{"StringNotLike": {"aws:userid": exempt}},
	}
	if len(principals) > 0 {
		stmt.Principal = map[string][]string{"AWS": principals}
	}
	stmtJSON, err := json.Marshal(stmt)
	if err != nil {
		return contract.ActionResult{}, err
	}
	where := fmt.Sprintf("s3://%s/%s", args.Bucket, args.Prefix)
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readBucketPolicy(ctx, c, args.Bucket)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("block writes to %s: %w", where, err)
	}
	present, err := hasStatement(current, stmt.Sid, stmtJSON)
	if err != nil {
		return contract.ActionResult{}, action.NonRetryable(action.ErrValidation, fmt.Errorf("block writes to %s: %w", where, err))
	}
	prior := action.Checkpoint(ctx, current)
	priorPresent, _ := hasStatement(prior, stmt.Sid, stmtJSON)
	res := contract.ActionResult{
		Changed: !priorPresent,
		DryRun:  in.DryRun,
		Prior:   map[string]any{"existed": prior.Exists, "policy": prior.Text},
		Output: map[string]any{"bucket": args.Bucket, "prefix": args.Prefix, "sid": stmt.Sid, "resource": stmt.Resource,
			"actions": writeBlockActions, "exempt_userid": exempt},
	}
	if !present {
		next, err := addStatement(current, stmtJSON)
		if err != nil {
			return contract.ActionResult{}, action.NonRetryable(action.ErrValidation, fmt.Errorf("block writes to %s: the bucket policy: %w", where, err))
		}
		if len(next) > maxBucketPolicyBytes {
			return contract.ActionResult{}, action.NonRetryable(action.ErrValidation, fmt.Errorf("block writes to %s: the bucket policy would be %d bytes with quench's statement, over S3's limit of %d", where, len(next), maxBucketPolicyBytes))
		}
		if in.DryRun {
			res.Changed = true
			res.Summary = fmt.Sprintf("would deny writes to %s* in the bucket policy (statement %s)", where, stmt.Sid)
			return res, nil
		}
		if err := a.writeBucketPolicy(ctx, c, args.Bucket, bucketPolicy{Exists: true, Text: next}); err != nil {
			return contract.ActionResult{}, fmt.Errorf("block writes to %s: %w", where, err)
		}
	}
	if !res.Changed {
		res.Summary = fmt.Sprintf("writes to %s* are already denied by statement %s", where, stmt.Sid)
		return res, nil
	}
	if in.DryRun {
		res.Summary = fmt.Sprintf("would deny writes to %s* in the bucket policy (statement %s)", where, stmt.Sid)
		return res, nil
	}
	kept := "no bucket policy before"
	if prior.Exists {
		if d, err := parsePolicy(prior.Text); err == nil {
			kept = fmt.Sprintf("%d other statements kept", len(d.stmts))
		}
	}
	res.Summary = fmt.Sprintf("denied writes to %s* in the bucket policy (statement %s; %s)", where, stmt.Sid, kept)
	res.Undo = &contract.UndoRecord{Action: ActionUnblockPrefixWrites, Args: map[string]any{
		"bucket": args.Bucket, "sid": stmt.Sid, "existed": prior.Exists, "prior_policy": prior.Text,
	}}
	return res, nil
}

type unblockArgs struct {
	Bucket      string `json:"bucket"`
	Sid         string `json:"sid"`
	Existed     bool   `json:"existed"`
	PriorPolicy string `json:"prior_policy"`
}

// UnblockPrefixWrites removes quench's statement.
func (a *S3Actions) UnblockPrefixWrites(ctx context.Context, in contract.ActionInput, args unblockArgs) (contract.ActionResult, error) {
	if !strings.HasPrefix(args.Sid, "quench-block-") {
		return contract.ActionResult{}, action.InvalidArg(ActionUnblockPrefixWrites, "sid %q is not a statement quench adds", args.Sid)
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	current, err := readBucketPolicy(ctx, c, args.Bucket)
	if err != nil {
		return contract.ActionResult{}, fmt.Errorf("unblock writes to bucket %s: %w", args.Bucket, err)
	}
	res := contract.ActionResult{DryRun: in.DryRun, Prior: map[string]any{"existed": current.Exists, "policy": current.Text}}
	d, i, err := findStatement(current, args.Sid)
	if err != nil {
		return contract.ActionResult{}, action.NonRetryable(action.ErrValidation, fmt.Errorf("unblock writes to bucket %s: the bucket policy: %w", args.Bucket, err))
	}
	if i < 0 {
		res.Summary = fmt.Sprintf("bucket %s's policy has no statement %s: nothing to remove", args.Bucket, args.Sid)
		return res, nil
	}
	rest, remaining := d.remove(i)
	prior := bucketPolicy{Exists: args.Existed, Text: args.PriorPolicy}
	want, how := bucketPolicy{Exists: true, Text: rest}, "from bucket %s's policy, keeping the changes made to it since containment"
	switch {
	case prior.Exists && sameBucketPolicy(rest, prior.Text):
		want, how = prior, "from bucket %s's policy: the policy is back as it was"
	case !prior.Exists && remaining == 0:
		want, how = bucketPolicy{}, "by deleting bucket %s's policy, which did not exist before"
	case remaining == 0:
		// A policy without statements is invalid; others removed the rest meanwhile.
		want, how = bucketPolicy{}, "by deleting bucket %s's policy, whose other statements were removed since containment"
	}
	what := fmt.Sprintf("statement %s "+how, args.Sid, args.Bucket)
	res.Changed = true
	if in.DryRun {
		res.Summary = "would remove " + what
		return res, nil
	}
	if err := a.writeBucketPolicy(ctx, c, args.Bucket, want); err != nil {
		return contract.ActionResult{}, fmt.Errorf("unblock writes to bucket %s: %w", args.Bucket, err)
	}
	res.Summary = "removed " + what
	return res, nil
}

// maxBucketPolicyBytes is S3's limit on a bucket policy.
const maxBucketPolicyBytes = 20 * 1024

// policyDoc is a policy's text with the byte range of its Statement value
// and of each statement, so statements can be added and removed while
// every other byte is kept.
type policyDoc struct {
	text               string
	stmtStart, stmtEnd int // the Statement value
	array              bool
	stmts              []span
}

type span struct{ start, end int }

func parsePolicy(text string) (policyDoc, error) {
	d := policyDoc{text: text, stmtStart: -1}
	dec := json.NewDecoder(strings.NewReader(text))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return d, fmt.Errorf("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return d, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return d, err
		}
		if tok == "Statement" {
			if d.stmtStart >= 0 {
				return d, fmt.Errorf("two Statement fields")
			}
			end := int(dec.InputOffset())
			d.stmtStart, d.stmtEnd = end-len(raw), end
		}
	}
	if _, err := dec.Token(); err != nil {
		return d, err
	}
	if _, err := dec.Token(); err == nil {
		return d, fmt.Errorf("text after the policy object")
	}
	if d.stmtStart < 0 {
		return d, fmt.Errorf("no Statement")
	}
	value := text[d.stmtStart:d.stmtEnd]
	switch value[0] {
	case '{':
		d.stmts = []span{{d.stmtStart, d.stmtEnd}}
		return d, nil
	case '[':
	default:
		return d, errors.New("the policy's Statement is neither an object nor a list")
	}
	d.array = true
	sd := json.NewDecoder(strings.NewReader(value))
	_, _ = sd.Token()
	for sd.More() {
		var raw json.RawMessage
		if err := sd.Decode(&raw); err != nil {
			return d, err
		}
		end := d.stmtStart + int(sd.InputOffset())
		d.stmts = append(d.stmts, span{end - len(raw), end})
	}
	return d, nil
}

func (d policyDoc) stmt(i int) string { return d.text[d.stmts[i].start:d.stmts[i].end] }

// remove cuts statement i with the comma that joins it to a neighbour,
// and says how many statements remain.
func (d policyDoc) remove(i int) (string, int) {
	t := d.text
	switch {
	case !d.array || len(d.stmts) == 1:
		return t[:d.stmtStart] + "[]" + t[d.stmtEnd:], 0
	case i > 0:
		return t[:d.stmts[i-1].end] + t[d.stmts[i].end:], len(d.stmts) - 1
	default:
		return t[:d.stmts[0].start] + t[d.stmts[1].start:], len(d.stmts) - 1
	}
}

// addStatement appends stmt to a policy's statements (or makes a policy of it).
func addStatement(p bucketPolicy, stmt []byte) (string, error) {
	s := string(stmt)
	if !p.Exists {
		return `{"Version":"2012-10-17","Statement":[` + s + `]}`, nil
	}
	d, err := parsePolicy(p.Text)
	if err != nil {
		return "", err
	}
	t := d.text
	switch {
	case !d.array:
		return t[:d.stmtStart] + "[" + t[d.stmtStart:d.stmtEnd] + "," + s + "]" + t[d.stmtEnd:], nil
	case len(d.stmts) == 0:
		return t[:d.stmtStart+1] + s + t[d.stmtStart+1:], nil
	}
	last := d.stmts[len(d.stmts)-1].end
	return t[:last] + "," + s + t[last:], nil
}

// findStatement finds the statement with sid; -1 when there is none.
func findStatement(p bucketPolicy, sid string) (policyDoc, int, error) {
	if !p.Exists {
		return policyDoc{}, -1, nil
	}
	d, err := parsePolicy(p.Text)
	if err != nil {
		return d, -1, err
	}
	for i := range d.stmts {
		var s struct{ Sid string }
		if json.Unmarshal([]byte(d.stmt(i)), &s) == nil && s.Sid == sid {
			return d, i, nil
		}
	}
	return d, -1, nil
}

// hasStatement reports whether the policy holds stmt under sid; a
// different statement under quench's sid is an error (someone edited it).
func hasStatement(p bucketPolicy, sid string, stmt []byte) (bool, error) {
	d, i, err := findStatement(p, sid)
	if err != nil || i < 0 {
		return false, err
	}
	if !samePolicy(d.stmt(i), string(stmt)) {
		return false, fmt.Errorf("the bucket policy already has a statement %s that differs from the one quench would add (edited by hand?); remove it or the incident's block by hand", sid)
	}
	return true, nil
}

// sameBucketPolicy is samePolicy, also equating one statement written
// bare and in a list (quench adds to a bare statement by making a list).
func sameBucketPolicy(a, b string) bool {
	norm := func(s string) string {
		var v map[string]any
		if json.Unmarshal([]byte(s), &v) != nil {
			return s
		}
		if st, ok := v["Statement"].(map[string]any); ok {
			v["Statement"] = []any{st}
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	return samePolicy(norm(a), norm(b))
}

// listBounds bounds a ListObjectVersions read: pages of size entries,
// at most pages of them (20,000 versions by default).
type listBounds struct {
	size  int32
	pages int
}

var defaultListBounds = listBounds{size: 1000, pages: 20}

type listChangedArgs struct {
	Bucket     string `json:"bucket"`
	Prefix     string `json:"prefix,omitempty"`
	Since      string `json:"since"`
	MaxResults int    `json:"max_results,omitempty"`
}

// objectEntry is one version or delete marker as listed.
type objectEntry struct {
	key, versionID, etag, storageClass string
	deleteMarker, latest               bool
	size                               int64
	modified                           time.Time
}

func (e objectEntry) output() map[string]any {
	return map[string]any{"key": e.key, "version_id": e.versionID, "last_modified": e.modified.UTC().Format(time.RFC3339),
		"is_latest": e.latest, "delete_marker": e.deleteMarker, "size": e.size, "etag": e.etag}
}

// listPage lists one page of versions in S3's order (by key, newest
// first): the SDK hands versions and delete markers back separately.
func listPage(page *s3.ListObjectVersionsOutput) []objectEntry {
	var out []objectEntry
	for _, v := range page.Versions {
		out = append(out, objectEntry{key: aws.ToString(v.Key), versionID: aws.ToString(v.VersionId), etag: aws.ToString(v.ETag),
			storageClass: string(v.StorageClass), latest: aws.ToBool(v.IsLatest), size: aws.ToInt64(v.Size), modified: aws.ToTime(v.LastModified)})
	}
	for _, m := range page.DeleteMarkers {
		out = append(out, objectEntry{key: aws.ToString(m.Key), versionID: aws.ToString(m.VersionId), deleteMarker: true,
			latest: aws.ToBool(m.IsLatest), modified: aws.ToTime(m.LastModified)})
	}
	slices.SortStableFunc(out, func(a, b objectEntry) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if a.latest != b.latest {
			if a.latest {
				return -1
			}
			return 1
		}
		return b.modified.Compare(a.modified)
	})
	return out
}

func (a *S3Actions) parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return a.Now().UTC().Add(-d), nil
	}
	return time.Time{}, action.InvalidArg(ActionListChangedObjects, "since %q is neither an RFC 3339 time (2026-11-20T10:00:00Z) nor a duration (48h)", s)
}

// ListChangedObjects lists what was written under a prefix since a time.
// Output: bucket, prefix, since, changes[{key, version_id, last_modified,
// is_latest, delete_marker, size, etag}], changed_keys[{key, changes,
// latest_version_id, latest_is_delete_marker, version_before,
// existed_before}], count, keys, scanned, versioned, truncated and, when
// truncated, truncated_reason.
func (a *S3Actions) ListChangedObjects(ctx context.Context, in contract.ActionInput, args listChangedArgs) (contract.ActionResult, error) {
	if err := checkBucket(ActionListChangedObjects, args.Bucket); err != nil {
		return contract.ActionResult{}, err
	}
	since, err := a.parseSince(args.Since)
	if err != nil {
		return contract.ActionResult{}, err
	}
	limit := args.MaxResults
	if limit == 0 {
		limit = 200
	}
	if limit > 1000 {
		return contract.ActionResult{}, action.InvalidArg(ActionListChangedObjects, "max_results %d is over 1000", limit)
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	where := fmt.Sprintf("s3://%s/%s", args.Bucket, args.Prefix)
	changes, keys := []any{}, []any{}
	var (
		scanned, count, nkeys int
		versioned             bool
		truncated             string
		cur                   map[string]any // the changed key being read
		curKey                string
		curDone               bool // its version before since is known
	)
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(args.Bucket), Prefix: aws.String(args.Prefix), MaxKeys: aws.Int32(a.list.size)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages == a.list.pages {
			truncated = fmt.Sprintf("stopped after scanning %d versions (%d pages); narrow the prefix", scanned, pages)
			break
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return contract.ActionResult{}, fmt.Errorf("list changed objects in %s: %w", where, awsError("ListObjectVersions", "s3:ListBucketVersions", "bucket "+args.Bucket, err))
		}
		for _, e := range listPage(page) {
			scanned++
			versioned = versioned || e.versionID != "null"
			if e.key != curKey {
				curKey, cur, curDone = e.key, nil, false
			}
			if !e.modified.Before(since) {
				if cur == nil {
					nkeys++
					cur = map[string]any{"key": e.key, "changes": 0, "latest_version_id": e.versionID, "latest_is_delete_marker": e.deleteMarker,
						"version_before": "", "existed_before": false}
					if len(keys) < limit {
						keys = append(keys, cur)
					}
				}
				cur["changes"] = cur["changes"].(int) + 1
				count++
				if len(changes) < limit {
					changes = append(changes, e.output())
				}
				continue
			}
			if cur != nil && !curDone {
				curDone = true
				if !e.deleteMarker {
					cur["version_before"], cur["existed_before"] = e.versionID, true
				}
			}
		}
	}
	if truncated == "" && (count > len(changes) || nkeys > len(keys)) {
		truncated = fmt.Sprintf("%d changes to %d keys found; only the first %d of each are listed (max_results)", count, nkeys, limit)
	}
	out := map[string]any{
		"bucket": args.Bucket, "prefix": args.Prefix, "since": since.Format(time.RFC3339), "changes": changes, "changed_keys": keys,
		"count": count, "keys": nkeys, "scanned": scanned, "versioned": versioned, "truncated": truncated != "",
	}
	summary := fmt.Sprintf("%d changes to %d objects under %s since %s (%d versions scanned)", count, nkeys, where, since.Format(time.RFC3339), scanned)
	if truncated != "" {
		out["truncated_reason"] = truncated
		summary += "; truncated: " + truncated
	}
	if scanned > 0 && !versioned {
		summary += "; the bucket keeps no versions, so nothing can be restored from it"
	}
	return contract.ActionResult{DryRun: in.DryRun, Output: out, Summary: summary}, nil
}

type restoreArgs struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"version_id"`
}

// objectVersions lists key's versions, newest first (bounded).
func objectVersions(ctx context.Context, c S3API, bounds listBounds, bucket, key string) ([]objectEntry, error) {
	var out []objectEntry
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key), MaxKeys: aws.Int32(bounds.size)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages == bounds.pages {
			return nil, action.NonRetryable(action.ErrValidation, fmt.Errorf("s3://%s/%s has more versions than quench reads (%d pages of %d)", bucket, key, bounds.pages, bounds.size))
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsError("ListObjectVersions", "s3:ListBucketVersions", "bucket "+bucket, err)
		}
		for _, e := range listPage(page) {
			// Keys sort after their prefixes: key's own versions come first.
			if e.key != key {
				return out, nil
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// restoreState is what RestoreObjectVersion reads before it copies: the
// latest version of the key.
type restoreState struct {
	LatestVersionID    string `json:"latest_version_id"`
	LatestETag         string `json:"latest_etag"`
	LatestDeleteMarker bool   `json:"latest_delete_marker"`
	LatestSize         int64  `json:"latest_size"`
}

// maxCopyObjectBytes is the largest object one CopyObject copies.
const maxCopyObjectBytes = 5 << 30

// copySource is x-amz-copy-source: bucket/key URL-encoded (slashes kept)
// with the version.
func copySource(bucket, key, versionID string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return bucket + "/" + strings.Join(segs, "/") + "?versionId=" + url.QueryEscape(versionID)
}

// RestoreObjectVersion copies a version over its key so it is current
// again. It has no undo: the restore is the recovery, and the version it
// replaced stays in the history. Output: bucket, key,
// restored_from_version_id, new_version_id, replaced_version_id,
// replaced_delete_marker.
func (a *S3Actions) RestoreObjectVersion(ctx context.Context, in contract.ActionInput, args restoreArgs) (contract.ActionResult, error) {
	if err := checkBucket(ActionRestoreObjectVersion, args.Bucket); err != nil {
		return contract.ActionResult{}, err
	}
	where := fmt.Sprintf("s3://%s/%s", args.Bucket, args.Key)
	fail := func(err error) (contract.ActionResult, error) {
		return contract.ActionResult{}, fmt.Errorf("restore %s to version %s: %w", where, args.VersionID, err)
	}
	c, err := a.clients(ctx, in.Incident)
	if err != nil {
		return contract.ActionResult{}, err
	}
	versions, err := objectVersions(ctx, c, a.list, args.Bucket, args.Key)
	if err != nil {
		return fail(err)
	}
	i := slices.IndexFunc(versions, func(e objectEntry) bool { return e.versionID == args.VersionID })
	switch {
	case i < 0:
		return fail(action.NonRetryable(action.ErrNotFound, fmt.Errorf("no version %s of %s", args.VersionID, where)))
	case versions[i].deleteMarker:
		return fail(action.NonRetryable(action.ErrValidation, fmt.Errorf("version %s is a delete marker, which cannot be copied", args.VersionID)))
	case versions[i].size > maxCopyObjectBytes:
		return fail(action.NonRetryable(action.ErrValidation, fmt.Errorf("version %s is %d bytes, over the 5 GiB one copy can restore", args.VersionID, versions[i].size)))
	}
	target, latest := versions[i], versions[0]
	current := restoreState{LatestVersionID: latest.versionID, LatestETag: latest.etag, LatestDeleteMarker: latest.deleteMarker, LatestSize: latest.size}
	// The target's content is current: it is the latest version, or a
	// copy of it (same ETag and size) is.
	isCurrent := func(l objectEntry) bool {
		return !l.deleteMarker && (l.versionID == target.versionID || l.etag == target.etag && l.size == target.size)
	}
	prior := action.Checkpoint(ctx, current)
	res := contract.ActionResult{
		DryRun: in.DryRun,
		Prior:  map[string]any{"latest_version_id": prior.LatestVersionID, "latest_delete_marker": prior.LatestDeleteMarker},
		Output: map[string]any{"bucket": args.Bucket, "key": args.Key, "restored_from_version_id": target.versionID,
			"new_version_id": "", "replaced_version_id": prior.LatestVersionID, "replaced_delete_marker": prior.LatestDeleteMarker},
	}
	if isCurrent(latest) {
		if isCurrent(objectEntry{versionID: prior.LatestVersionID, etag: prior.LatestETag, size: prior.LatestSize, deleteMarker: prior.LatestDeleteMarker}) {
			res.Summary = fmt.Sprintf("%s already holds version %s's content (current version %s)", where, target.versionID, latest.versionID)
			return res, nil
		}
		// An earlier attempt copied it; its answer was lost.
		res.Output["new_version_id"] = latest.versionID
	} else {
		if in.DryRun {
			res.Changed = true
			res.Summary = fmt.Sprintf("would restore %s to version %s (replacing %s)", where, target.versionID, describeLatest(latest))
			return res, nil
		}
		in := &s3.CopyObjectInput{Bucket: aws.String(args.Bucket), Key: aws.String(args.Key), CopySource: aws.String(copySource(args.Bucket, args.Key, target.versionID))}
		if target.storageClass != "" {
			in.StorageClass = s3types.StorageClass(target.storageClass)
		}
		out, err := c.CopyObject(ctx, in)
		if err != nil {
			return fail(awsError("CopyObject", "s3:GetObjectVersion and s3:PutObject", where, err))
		}
		newID := aws.ToString(out.VersionId)
		if err := PollUntil(ctx, a.poll, where, func(ctx context.Context) (bool, error) {
			vs, err := objectVersions(ctx, c, a.list, args.Bucket, args.Key)
			return err == nil && len(vs) > 0 && vs[0].versionID == newID, err
		}); err != nil {
			return fail(err)
		}
		res.Output["new_version_id"] = newID
	}
	res.Changed = true
	res.Summary = fmt.Sprintf("restored %s to version %s (now version %s; replaced %s)", where, target.versionID, res.Output["new_version_id"], describeLatest(objectEntry{versionID: prior.LatestVersionID, deleteMarker: prior.LatestDeleteMarker}))
	res.Warnings = []string{fmt.Sprintf("not undone when the incident is rolled back, by design: %s stays restored to version %s, and the version it replaced (%s) remains in the object's history",
		where, target.versionID, prior.LatestVersionID)}
	return res, nil
}

func describeLatest(e objectEntry) string {
	if e.deleteMarker {
		return "delete marker " + e.versionID
	}
	return "version " + e.versionID
}
