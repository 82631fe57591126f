package slackapp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// DefaultGroupTTL is how long a user group's members are cached. Short:
// removing someone from the approver group must take effect quickly.
const DefaultGroupTTL = time.Minute

// GroupResolver tells which of groupIDs a Slack user belongs to. The
// workflow's validator checks approver membership against that answer,
// since a validator cannot call Slack.
type GroupResolver interface {
	UserGroups(ctx context.Context, userID string, groupIDs []string) ([]string, error)
}

// GroupMembersLister is the part of *slack.Client the cache uses
// (usergroups.users.list).
type GroupMembersLister interface {
	GetUserGroupMembersContext(ctx context.Context, userGroup string, options ...slack.GetUserGroupMembersOption) ([]string, error)
}

// GroupCache resolves user group membership through usergroups.users.list,
// caching each group's members for a short TTL.
type GroupCache struct {
	api GroupMembersLister
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]groupEntry
}

type groupEntry struct {
	members []string
	fetched time.Time
}

// NewGroupCache returns a cache; ttl <= 0 means DefaultGroupTTL, nil now means time.Now.
func NewGroupCache(api GroupMembersLister, ttl time.Duration, now func() time.Time) *GroupCache {
	if ttl <= 0 {
		ttl = DefaultGroupTTL
	}
	if now == nil {
		now = time.Now
	}
	return &GroupCache{api: api, ttl: ttl, now: now, entries: map[string]groupEntry{}}
}

// UserGroups returns the groups among groupIDs that userID is a member of.
// A group that cannot be listed is left out (fail closed: fewer groups can
// only mean fewer rights) and reported in the joined error alongside the
// groups that could be resolved.
func (c *GroupCache) UserGroups(ctx context.Context, userID string, groupIDs []string) ([]string, error) {
	var member []string
	var errs []error
	for _, g := range groupIDs {
		users, err := c.members(ctx, g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if slices.Contains(users, userID) {
			member = append(member, g)
		}
	}
	return member, errors.Join(errs...)
}

func (c *GroupCache) members(ctx context.Context, group string) ([]string, error) {
	c.mu.Lock()
	e, ok := c.entries[group]
	c.mu.Unlock()
	if ok && c.now().Sub(e.fetched) < c.ttl {
		return e.members, nil
	}
	// Not holding the lock across the call: two concurrent misses cost one
	// extra request, which is cheaper than serialising every click.
	users, err := c.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("list members of slack user group %s: %w", group, err)
	}
	c.mu.Lock()
	c.entries[group] = groupEntry{members: users, fetched: c.now()}
	c.mu.Unlock()
	return users, nil
}
