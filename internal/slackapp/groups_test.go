package slackapp_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quenchhq/quench/internal/slackapp"
	"github.com/quenchhq/quench/internal/testing/slackfake"
)

func TestGroupCacheResolvesMembershipAndCaches(t *testing.T) {
	srv := slackfake.New(t)
	srv.SetGroupMembers("S02AIRESP", "U01ABCDEF", "U0GROUPIE")
	srv.SetGroupMembers("S03SEC", "U0SEC")
	at := now
	c := slackapp.NewGroupCache(srv.Client(), time.Minute, func() time.Time { return at })
	ctx := context.Background()

	got, err := c.UserGroups(ctx, "U0GROUPIE", []string{"S02AIRESP", "S03SEC"})
	if err != nil || !slices.Equal(got, []string{"S02AIRESP"}) {
		t.Fatalf("UserGroups = %v, %v; want [S02AIRESP]", got, err)
	}
	if n := len(srv.Calls(slackfake.GroupMembers)); n != 2 {
		t.Fatalf("%d usergroups.users.list calls, want 2", n)
	}

	// Within the TTL: answered from the cache, even after a change in Slack.
	srv.SetGroupMembers("S03SEC", "U0SEC", "U0GROUPIE")
	at = now.Add(59 * time.Second)
	got, _ = c.UserGroups(ctx, "U0GROUPIE", []string{"S02AIRESP", "S03SEC"})
	if !slices.Equal(got, []string{"S02AIRESP"}) {
		t.Errorf("cached UserGroups = %v", got)
	}
	if n := len(srv.Calls(slackfake.GroupMembers)); n != 2 {
		t.Errorf("%d usergroups.users.list calls within the TTL, want still 2", n)
	}

	// After the TTL: asked again, the change is seen.
	at = now.Add(61 * time.Second)
	got, _ = c.UserGroups(ctx, "U0GROUPIE", []string{"S02AIRESP", "S03SEC"})
	if !slices.Equal(got, []string{"S02AIRESP", "S03SEC"}) {
		t.Errorf("UserGroups after the TTL = %v, want both groups", got)
	}
	if n := len(srv.Calls(slackfake.GroupMembers)); n != 4 {
		t.Errorf("%d usergroups.users.list calls after the TTL, want 4", n)
	}
}

func TestGroupCacheFailsClosed(t *testing.T) {
	srv := slackfake.New(t)
	srv.SetGroupMembers("S02AIRESP", "U0GROUPIE")
	srv.SetGroupMembers("S03SEC", "U0GROUPIE")
	srv.Fail(slackfake.GroupMembers, slackfake.Fault{Status: 503}, 1)
	c := slackapp.NewGroupCache(srv.Client(), 0, clock)

	got, err := c.UserGroups(context.Background(), "U0GROUPIE", []string{"S02AIRESP", "S03SEC"})
	if err == nil || !strings.Contains(err.Error(), "S02AIRESP") {
		t.Errorf("err = %v, want it to name the group that could not be listed", err)
	}
	if !slices.Equal(got, []string{"S03SEC"}) {
		t.Errorf("groups = %v, want only the one that could be checked", got)
	}
	// A failure is not cached.
	got, err = c.UserGroups(context.Background(), "U0GROUPIE", []string{"S02AIRESP"})
	if err != nil || !slices.Equal(got, []string{"S02AIRESP"}) {
		t.Errorf("after recovery: %v, %v", got, err)
	}
}

func TestClickWithUnresolvableGroupsStillAsksAndExplains(t *testing.T) {
	f := newFixture(t)
	f.srv.Fail(slackfake.GroupMembers, slackfake.Fault{SlackError: "ratelimited"}, 1)
	f.decider.err = rejected("U0GROUPIE is not an approver of step approve-pause")
	f.send(t, clickPayload(t, f, request(), "quench_approve", "U0GROUPIE"))
	calls := f.decider.Calls()
	if len(calls) != 1 || len(calls[0].D.SlackUserGroups) != 0 {
		t.Fatalf("decide calls = %+v, want one with no groups", calls)
	}
	eph := f.srv.Calls(slackfake.PostEphemeral)
	if len(eph) != 1 || !strings.Contains(eph[0].Form.Get("text"), "could not be checked") {
		t.Fatalf("ephemerals = %+v, want one saying groups could not be checked", eph)
	}
}
