package awsfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CloudTrail is the fake CloudTrail event history (LookupEvents), per
// region as AWS keeps it, served over awsJson1.1.
type CloudTrail struct {
	p jsonProtocol

	mu     sync.Mutex
	events []TrailEvent
}

// TrailEvent is one management event in the history.
type TrailEvent struct {
	ID        string // generated when empty
	Name      string // eventName, e.g. InvokeModel
	Source    string // eventSource, e.g. bedrock.amazonaws.com
	Time      time.Time
	Region    string // awsRegion; default us-east-1
	SourceIP  string
	UserAgent string
	// Identity: AccessKeyID and Username are what LookupEvents filters on;
	// IdentityType is IAMUser, AssumedRole, ...
	AccessKeyID, Username, IdentityType, PrincipalARN string
	ErrorCode                                         string
	ReadOnly                                          bool
	Resources                                         []TrailResource
}

// TrailResource is a resource an event names.
type TrailResource struct{ Type, Name string }

// RegisterCloudTrail adds an empty event history to srv.
func RegisterCloudTrail(srv *Server) *CloudTrail {
	c := &CloudTrail{p: jsonProtocol{targetPrefix: "CloudTrail_20131101."}}
	srv.Handle("cloudtrail", c)
	return c
}

// AddEvents seeds the history.
func (c *CloudTrail) AddEvents(events ...TrailEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range events {
		if e.Region == "" {
			e.Region = "us-east-1"
		}
		if e.ID == "" {
			h := sha256.Sum256(fmt.Appendf(nil, "%d/%s/%s", len(c.events), e.Name, e.Time))
			id := hex.EncodeToString(h[:16])
			e.ID = id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
		}
		c.events = append(c.events, e)
	}
}

// record is the event's CloudTrail record (the CloudTrailEvent JSON).
func (e TrailEvent) record() map[string]any {
	identity := map[string]any{"type": e.IdentityType, "accountId": AccountID}
	if e.PrincipalARN != "" {
		identity["arn"] = e.PrincipalARN
	}
	if e.AccessKeyID != "" {
		identity["accessKeyId"] = e.AccessKeyID
	}
	if e.Username != "" && e.IdentityType == "IAMUser" {
		identity["userName"] = e.Username
	}
	r := map[string]any{
		"eventVersion": "1.09", "userIdentity": identity, "eventTime": e.Time.UTC().Format(time.RFC3339),
		"eventSource": e.Source, "eventName": e.Name, "awsRegion": e.Region, "sourceIPAddress": e.SourceIP,
		"userAgent": e.UserAgent, "eventID": e.ID, "readOnly": e.ReadOnly, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": AccountID, "eventCategory": "Management",
	}
	if e.ErrorCode != "" {
		r["errorCode"] = e.ErrorCode
	}
	return r
}

// Operation implements ServiceHandler.
func (c *CloudTrail) Operation(r *http.Request) string { return c.p.operation(r) }

// WriteError implements ServiceHandler.
func (c *CloudTrail) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	c.p.writeError(w, status, code, message)
}

// Mutating implements ServiceHandler: the fake serves only lookups.
func (c *CloudTrail) Mutating(string) bool { return false }

var regionRE = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/`)

// lookupAttributeKeys are the attributes LookupEvents can filter on.
var lookupAttributeKeys = map[string]func(TrailEvent) []string{
	"EventId":     func(e TrailEvent) []string { return []string{e.ID} },
	"EventName":   func(e TrailEvent) []string { return []string{e.Name} },
	"ReadOnly":    func(e TrailEvent) []string { return []string{strconv.FormatBool(e.ReadOnly)} },
	"Username":    func(e TrailEvent) []string { return []string{e.Username} },
	"EventSource": func(e TrailEvent) []string { return []string{e.Source} },
	"AccessKeyId": func(e TrailEvent) []string { return []string{e.AccessKeyID} },
	"ResourceType": func(e TrailEvent) []string {
		var out []string
		for _, r := range e.Resources {
			out = append(out, r.Type)
		}
		return out
	},
	"ResourceName": func(e TrailEvent) []string {
		var out []string
		for _, r := range e.Resources {
			out = append(out, r.Name)
		}
		return out
	},
}

// Serve implements ServiceHandler.
func (c *CloudTrail) Serve(w http.ResponseWriter, r *http.Request, op string) {
	if op != "LookupEvents" {
		c.p.writeError(w, http.StatusBadRequest, "UnknownOperationException", "awsfake: CloudTrail operation not implemented: "+op)
		return
	}
	var in struct {
		LookupAttributes []struct{ AttributeKey, AttributeValue string }
		StartTime        *float64
		EndTime          *float64
		MaxResults       *int
		NextToken        string
		EventCategory    string
	}
	if err := decodeBody(r, &in); err != nil {
		c.p.writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	region := "us-east-1"
	if m := regionRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		region = m[1]
	}
	bad := func(code, msg string) { c.p.writeError(w, http.StatusBadRequest, code, msg) }
	if len(in.LookupAttributes) > 1 {
		bad("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
		return
	}
	var match func(TrailEvent) bool = func(TrailEvent) bool { return true }
	if len(in.LookupAttributes) == 1 {
		a := in.LookupAttributes[0]
		get := lookupAttributeKeys[a.AttributeKey]
		if get == nil || a.AttributeValue == "" {
			bad("InvalidLookupAttributesException", "Invalid lookup attribute "+a.AttributeKey)
			return
		}
		match = func(e TrailEvent) bool { return slices.Contains(get(e), a.AttributeValue) }
	}
	maxResults := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			bad("InvalidMaxResultsException", "MaxResults must be from 1 to 50")
			return
		}
		maxResults = *in.MaxResults
	}
	start, end := time.Time{}, time.Unix(math.MaxInt32, 0)
	if in.StartTime != nil {
		start = epochTime(*in.StartTime)
	}
	if in.EndTime != nil {
		end = epochTime(*in.EndTime)
	}
	if end.Before(start) {
		bad("InvalidTimeRangeException", "Start time must be before end time.")
		return
	}
	// A token is good only for the query that issued it, as in CloudTrail.
	query := fmt.Sprintf("%s|%v|%v|%v", region, in.LookupAttributes, start.UnixNano(), end.UnixNano())
	offset := 0
	if in.NextToken != "" {
		b, err := base64.StdEncoding.DecodeString(in.NextToken)
		q, n, ok := strings.Cut(string(b), "#")
		offset, _ = strconv.Atoi(n)
		if err != nil || !ok || q != query || offset <= 0 {
			bad("InvalidNextTokenException", "Invalid NextToken")
			return
		}
	}
	c.mu.Lock()
	var found []TrailEvent
	for _, e := range c.events {
		if e.Region == region && !e.Time.Before(start) && !e.Time.After(end) && match(e) {
			found = append(found, e)
		}
	}
	c.mu.Unlock()
	slices.SortStableFunc(found, func(a, b TrailEvent) int { return b.Time.Compare(a.Time) }) // newest first
	out := map[string]any{}
	events := []any{}
	for i := offset; i < len(found) && i < offset+maxResults; i++ {
		e := found[i]
		rec, _ := json.Marshal(e.record())
		var resources []any
		for _, res := range e.Resources {
			resources = append(resources, map[string]any{"ResourceType": res.Type, "ResourceName": res.Name})
		}
		ev := map[string]any{
			"EventId": e.ID, "EventName": e.Name, "ReadOnly": strconv.FormatBool(e.ReadOnly), "EventTime": float64(e.Time.UnixMilli()) / 1000,
			"EventSource": e.Source, "CloudTrailEvent": string(rec), "Resources": resources,
		}
		if e.AccessKeyID != "" {
			ev["AccessKeyId"] = e.AccessKeyID
		}
		if e.Username != "" {
			ev["Username"] = e.Username
		}
		events = append(events, ev)
	}
	out["Events"] = events
	if offset+maxResults < len(found) {
		out["NextToken"] = base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s#%d", query, offset+maxResults))
	}
	c.p.result(w, out)
}

func epochTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
