package aws

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/quenchhq/quench/activities/action"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/workflows/contract"
)

// ActionLookupEvents is the CloudTrail evidence action.
const ActionLookupEvents = "cloudtrail.lookup_events"

// CloudTrailAPI is the part of the CloudTrail client the actions call.
type CloudTrailAPI interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// CloudTrailActions read who did what with a credential, as evidence.
type CloudTrailActions struct {
	clients func(ctx context.Context, ref contract.IncidentRef) (CloudTrailAPI, error)
	// Now is the clock the window ends at; tests pin it.
	Now func() time.Time
}

// NewCloudTrailActions returns the CloudTrail actions acting through p.
func NewCloudTrailActions(p *Provider) *CloudTrailActions {
	return &CloudTrailActions{clients: clientsFrom(p, func(c aws.Config) CloudTrailAPI { return cloudtrail.NewFromConfig(c) }), Now: time.Now}
}

// Actions returns the cloudtrail.* actions.
func (c *CloudTrailActions) Actions() []action.Action {
	return []action.Action{action.New(runbooks.ActionSpec{Name: ActionLookupEvents,
		Description: "Read-only evidence: the CloudTrail management events (LookupEvents, the last 90 days) of one access key, user name or resource over a window, in each region asked, summarised: " +
			"event names with counts, regions, source IPs, user agents, error codes, first and last time, and the most recent events. Paginated and bounded; says when truncated.",
		Args: []runbooks.ArgSpec{
			{Name: "access_key_id", Type: "string", Description: "the access key (AKIA… or ASIA…); give exactly one of access_key_id, principal, resource_name"},
			{Name: "principal", Type: "string", Description: "the user name CloudTrail records (an IAM user's name, or a role session's name)"},
			{Name: "resource_name", Type: "string", Description: "a resource name or ARN the events name"},
			{Name: "window", Type: "duration", Description: "how far back to look (default 24h, at most 90 days)"},
			{Name: "regions", Type: "list", Description: "regions to read, each keeps its own history (default: the incident's region)"},
			{Name: "max_events", Type: "int", Min: runbooks.AtLeast(1), Description: "most events to read over all regions (default 1000, at most 5000)"},
		}}, c.LookupEvents)}
}

type lookupArgs struct {
	AccessKeyID  string            `json:"access_key_id,omitempty"`
	Principal    string            `json:"principal,omitempty"`
	ResourceName string            `json:"resource_name,omitempty"`
	Window       runbooks.Duration `json:"window,omitempty"`
	Regions      []string          `json:"regions,omitempty"`
	MaxEvents    int               `json:"max_events,omitempty"`
}

const (
	maxLookupWindow  = 90 * 24 * time.Hour // CloudTrail's event history
	maxLookupEvents  = 5000
	maxLookupRegions = 20
	lookupPageSize   = 50 // LookupEvents' largest page
	// topN bounds each summary list; recentN the events listed in full.
	topN    = 25
	recentN = 20
)

var regionNameRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// trailRecord is the part of a CloudTrail record the summary reads.
type trailRecord struct {
	AwsRegion       string `json:"awsRegion"`
	SourceIPAddress string `json:"sourceIPAddress"`
	UserAgent       string `json:"userAgent"`
	ErrorCode       string `json:"errorCode"`
	UserIdentity    struct {
		Type string `json:"type"`
		Arn  string `json:"arn"`
	} `json:"userIdentity"`
}

// counter counts values and lists the most frequent.
type counter map[string]int

func (c counter) add(v string) {
	if v != "" {
		c[v]++
	}
}

// top lists up to n values, most frequent first, as {field: value, count}.
func (c counter) top(field string, n int) []any {
	keys := slices.SortedFunc(maps.Keys(c), func(a, b string) int { return cmp.Or(c[b]-c[a], cmp.Compare(a, b)) })
	out := []any{}
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, map[string]any{field: k, "count": c[k]})
	}
	return out
}

// LookupEvents reads and summarises a credential's or a resource's events.
// Output: lookup{attribute, value}, start, end, regions_queried,
// events (how many were read), truncated (+ truncated_reason),
// first_event_time, last_event_time, event_names[{name, source, count}],
// regions[{region, count}], source_ips[{ip, count}],
// user_agents[{user_agent, count}], error_codes[{error_code, count}],
// principals[{arn, count}], access_key_ids[{access_key_id, count}] and
// recent[{time, name, source, region, source_ip, access_key_id, username, error_code}].
func (c *CloudTrailActions) LookupEvents(ctx context.Context, in contract.ActionInput, args lookupArgs) (contract.ActionResult, error) {
	var attr cttypes.LookupAttribute
	given := 0
	for _, a := range []struct {
		key cttypes.LookupAttributeKey
		val string
	}{{cttypes.LookupAttributeKeyAccessKeyId, args.AccessKeyID}, {cttypes.LookupAttributeKeyUsername, args.Principal}, {cttypes.LookupAttributeKeyResourceName, args.ResourceName}} {
		if a.val != "" {
			given++
			attr = cttypes.LookupAttribute{AttributeKey: a.key, AttributeValue: aws.String(a.val)}
		}
	}
	if given != 1 {
		return contract.ActionResult{}, action.InvalidArg(ActionLookupEvents, "give exactly one of access_key_id, principal and resource_name (LookupEvents filters on one attribute), got %d", given)
	}
	window := args.Window.D()
	if window == 0 {
		window = 24 * time.Hour
	}
	if window > maxLookupWindow {
		return contract.ActionResult{}, action.InvalidArg(ActionLookupEvents, "window %s is longer than the 90 days CloudTrail's event history keeps", window)
	}
	limit := cmp.Or(args.MaxEvents, 1000)
	if limit > maxLookupEvents {
		return contract.ActionResult{}, action.InvalidArg(ActionLookupEvents, "max_events %d is over %d", limit, maxLookupEvents)
	}
	var regions []string // in the order given: the first is read first
	for _, r := range args.Regions {
		if !slices.Contains(regions, r) {
			regions = append(regions, r)
		}
	}
	if len(regions) == 0 {
		regions = []string{in.Incident.Region}
	}
	if len(regions) > maxLookupRegions {
		return contract.ActionResult{}, action.InvalidArg(ActionLookupEvents, "%d regions asked; at most %d", len(regions), maxLookupRegions)
	}
	for _, r := range regions {
		if r != "" && !regionNameRE.MatchString(r) {
			return contract.ActionResult{}, action.InvalidArg(ActionLookupEvents, "region %q is not a region name such as us-east-1", r)
		}
	}
	end := c.Now().UTC().Truncate(time.Second)
	start := end.Add(-window)
	what := fmt.Sprintf("%s %s", attr.AttributeKey, aws.ToString(attr.AttributeValue))

	var (
		read                                                 int
		truncated                                            string
		first, last                                          time.Time
		names                                                = map[[2]string]int{}
		inRegions, ips, agents, errs, principals, accessKeys = counter{}, counter{}, counter{}, counter{}, counter{}, counter{}
		recent                                               = []any{}
		queried                                              []string
	)
regions:
	for _, region := range regions {
		ref := in.Incident
		if region != "" {
			ref.Region = region
		}
		client, err := c.clients(ctx, ref)
		if err != nil {
			return contract.ActionResult{}, err
		}
		queried = append(queried, cmp.Or(region, "(default)"))
		p := cloudtrail.NewLookupEventsPaginator(client, &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{attr}, StartTime: aws.Time(start), EndTime: aws.Time(end), MaxResults: aws.Int32(lookupPageSize),
		})
		for p.HasMorePages() {
			if read >= limit {
				truncated = fmt.Sprintf("stopped after %d events (max_events)", read)
				break regions
			}
			page, err := p.NextPage(ctx)
			if err != nil {
				return contract.ActionResult{}, fmt.Errorf("look up CloudTrail events of %s in %s: %w", what, cmp.Or(region, "the default region"), AWSError("cloudtrail", "LookupEvents", what, err))
			}
			for _, e := range page.Events {
				if read >= limit {
					truncated = fmt.Sprintf("stopped after %d events (max_events)", read)
					break regions
				}
				read++
				var rec trailRecord
				_ = json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec) // a record that does not parse still counts by name
				at := aws.ToTime(e.EventTime).UTC()
				if first.IsZero() || at.Before(first) {
					first = at
				}
				if at.After(last) {
					last = at
				}
				names[[2]string{aws.ToString(e.EventName), aws.ToString(e.EventSource)}]++
				inRegions.add(cmp.Or(rec.AwsRegion, region))
				ips.add(rec.SourceIPAddress)
				agents.add(rec.UserAgent)
				errs.add(rec.ErrorCode)
				principals.add(rec.UserIdentity.Arn)
				accessKeys.add(aws.ToString(e.AccessKeyId))
				recent = append(recent, map[string]any{
					"time": at.Format(time.RFC3339), "name": aws.ToString(e.EventName), "source": aws.ToString(e.EventSource),
					"region": rec.AwsRegion, "source_ip": rec.SourceIPAddress, "access_key_id": aws.ToString(e.AccessKeyId),
					"username": aws.ToString(e.Username), "error_code": rec.ErrorCode,
				})
			}
		}
	}
	// Regions are read one after another, each newest first: keep the
	// newest recentN over all of them.
	slices.SortStableFunc(recent, func(a, b any) int {
		return cmp.Compare(b.(map[string]any)["time"].(string), a.(map[string]any)["time"].(string))
	})
	recent = recent[:min(recentN, len(recent))]
	nameList := slices.SortedFunc(maps.Keys(names), func(a, b [2]string) int {
		return cmp.Or(names[b]-names[a], cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	eventNames := []any{}
	for _, n := range nameList[:min(topN, len(nameList))] {
		eventNames = append(eventNames, map[string]any{"name": n[0], "source": n[1], "count": names[n]})
	}
	out := map[string]any{
		"lookup": map[string]any{"attribute": string(attr.AttributeKey), "value": aws.ToString(attr.AttributeValue)},
		"start":  start.Format(time.RFC3339), "end": end.Format(time.RFC3339), "regions_queried": queried,
		"events": read, "truncated": truncated != "", "first_event_time": "", "last_event_time": "",
		"event_names": eventNames, "regions": inRegions.top("region", topN), "source_ips": ips.top("ip", topN),
		"user_agents": agents.top("user_agent", topN), "error_codes": errs.top("error_code", topN),
		"principals": principals.top("arn", topN), "access_key_ids": accessKeys.top("access_key_id", topN), "recent": recent,
	}
	summary := fmt.Sprintf("no CloudTrail events of %s in the last %s", what, window)
	if read > 0 {
		out["first_event_time"], out["last_event_time"] = first.Format(time.RFC3339), last.Format(time.RFC3339)
		summary = fmt.Sprintf("%d CloudTrail events of %s from %s to %s: %d event names, %d regions, %d source IPs",
			read, what, first.Format(time.RFC3339), last.Format(time.RFC3339), len(names), len(inRegions), len(ips))
		if len(eventNames) > 0 {
			top := eventNames[0].(map[string]any)
			summary += fmt.Sprintf("; most frequent %s (%d)", top["name"], top["count"])
		}
	}
	if truncated != "" {
		out["truncated_reason"] = truncated
		summary += "; truncated: " + truncated
	}
	return contract.ActionResult{DryRun: in.DryRun, Output: out, Summary: summary}, nil
}
