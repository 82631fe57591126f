package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AccountID is the account every fake resource lives in.
const AccountID = "123456789012"

// inlinePolicyQuota is IAM's limit on the total size of a principal's inline policies.
var inlinePolicyQuota = map[string]int{"role": 10240, "user": 2048}

// IAM is the fake IAM service: roles with inline policies, users with
// access keys and service-specific credentials.
type IAM struct {
	q queryProtocol

	mu    sync.Mutex
	roles map[string]*fakeRole
	users map[string]*fakeUser
	// lag is how many reads after a write still see the value before it
	// (IAM is eventually consistent); stale holds those pending reads.
	lag   int
	stale map[string]*staleValue
	// pageSize, when set, splits list results into pages of that size.
	pageSize int
}

type fakeRole struct {
	name, path, id string
	maxSession     int32
	created        time.Time
	policies       map[string]string
}

type fakeUser struct {
	name, id string
	created  time.Time
	keys     []*fakeKey
	creds    []*fakeCred
	policies map[string]string
}

type fakeKey struct {
	id, status string
	created    time.Time
}

type fakeCred struct {
	id, service, status string
	created             time.Time
}

type staleValue struct {
	value     string
	exists    bool
	remaining int
}

// RegisterIAM adds an empty IAM service to srv.
func RegisterIAM(srv *Server) *IAM {
	i := &IAM{
		q:     queryProtocol{xmlns: "https://iam.amazonaws.com/doc/2010-05-08/"},
		roles: map[string]*fakeRole{},
		users: map[string]*fakeUser{},
		stale: map[string]*staleValue{},
	}
	srv.Handle("iam", i)
	return i
}

// AddRole creates a role at path "/" with the given maximum session
// duration in seconds (IAM's default is 3600).
func (i *IAM) AddRole(name string, maxSessionSeconds int32) {
	i.AddRoleAtPath(name, "/", maxSessionSeconds)
}

// AddRoleAtPath creates a role at path (service-linked roles live under
// "/aws-service-role/").
func (i *IAM) AddRoleAtPath(name, path string, maxSessionSeconds int32) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.roles[name] = &fakeRole{
		name: name, path: path, id: "AROA" + strings.ToUpper(fmt.Sprintf("%016x", len(i.roles)+1)),
		maxSession: maxSessionSeconds, created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		policies: map[string]string{},
	}
}

// RoleARN is the ARN the fake gives a role.
func RoleARN(name, path string) string {
	return "arn:aws:iam::" + AccountID + ":role" + path + name
}

// SetRolePolicy seeds (or replaces) an inline role policy.
func (i *IAM) SetRolePolicy(role, name, doc string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.roles[role].policies[name] = doc
}

// RolePolicy returns an inline role policy document as stored (not
// URL-encoded), bypassing consistency lag.
func (i *IAM) RolePolicy(role, name string) (doc string, ok bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	r := i.roles[role]
	if r == nil {
		return "", false
	}
	doc, ok = r.policies[name]
	return doc, ok
}

// RolePolicies returns a copy of a role's inline policies.
func (i *IAM) RolePolicies(role string) map[string]string {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := map[string]string{}
	if r := i.roles[role]; r != nil {
		for k, v := range r.policies {
			out[k] = v
		}
	}
	return out
}

// SetUserPolicy seeds (or replaces) an inline user policy.
func (i *IAM) SetUserPolicy(user, name, doc string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.users[user].policies[name] = doc
}

// UserPolicies returns a copy of a user's inline policies.
func (i *IAM) UserPolicies(user string) map[string]string {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := map[string]string{}
	if u := i.users[user]; u != nil {
		for k, v := range u.policies {
			out[k] = v
		}
	}
	return out
}

// AddUser creates a user.
func (i *IAM) AddUser(name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.users[name] = &fakeUser{name: name, id: "AIDA" + strings.ToUpper(fmt.Sprintf("%016x", len(i.users)+1)),
		created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), policies: map[string]string{}}
}

// AddAccessKey gives a user an access key with status Active or Inactive.
func (i *IAM) AddAccessKey(user, id, status string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	u := i.users[user]
	u.keys = append(u.keys, &fakeKey{id: id, status: status, created: time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)})
}

// AddServiceSpecificCredential gives a user a service-specific credential
// (a Bedrock API key has service "bedrock.amazonaws.com").
func (i *IAM) AddServiceSpecificCredential(user, service, id, status string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	u := i.users[user]
	u.creds = append(u.creds, &fakeCred{id: id, service: service, status: status, created: time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)})
}

// AccessKeyStatus returns a key's current status ("" if there is no such key).
func (i *IAM) AccessKeyStatus(user, id string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if u := i.users[user]; u != nil {
		for _, k := range u.keys {
			if k.id == id {
				return k.status
			}
		}
	}
	return ""
}

// ServiceSpecificCredentialStatus returns a credential's current status.
func (i *IAM) ServiceSpecificCredentialStatus(user, id string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if u := i.users[user]; u != nil {
		for _, c := range u.creds {
			if c.id == id {
				return c.status
			}
		}
	}
	return ""
}

// SetConsistencyLag makes the next n reads after each write return the
// value before the write, as IAM's eventual consistency can.
func (i *IAM) SetConsistencyLag(n int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.lag = n
}

// SetPageSize makes list operations return pages of at most n items, so
// callers' pagination is exercised.
func (i *IAM) SetPageSize(n int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.pageSize = n
}

// page cuts members (already-rendered <member> elements) at the request's
// Marker and returns them with the pagination elements.
func (i *IAM) page(f url.Values, members []string) (items, pages string) {
	start, _ := strconv.Atoi(f.Get("Marker"))
	if start > len(members) || start < 0 {
		start = len(members)
	}
	end := len(members)
	limit := i.pageSize
	if m, err := strconv.Atoi(f.Get("MaxItems")); err == nil && m > 0 && (limit == 0 || m < limit) {
		limit = m
	}
	if limit > 0 && start+limit < end {
		end = start + limit
	}
	return strings.Join(members[start:end], ""), pagination(end < len(members), end)
}

func pagination(truncated bool, next int) string {
	if truncated {
		return "<IsTruncated>true</IsTruncated>" + el("Marker", strconv.Itoa(next))
	}
	return "<IsTruncated>false</IsTruncated>"
}

// Operation implements ServiceHandler.
func (i *IAM) Operation(r *http.Request) string { return i.q.operation(r) }

// WriteError implements ServiceHandler.
func (i *IAM) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	i.q.writeError(w, status, code, message)
}

// Mutating implements ServiceHandler.
func (i *IAM) Mutating(op string) bool {
	return strings.HasPrefix(op, "Put") || strings.HasPrefix(op, "Delete") || strings.HasPrefix(op, "Update") ||
		strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Attach") || strings.HasPrefix(op, "Detach")
}

// markWritten records the value a resource had before a write, for lagged reads.
func (i *IAM) markWritten(key, old string, existed bool) {
	if i.lag > 0 {
		i.stale[key] = &staleValue{value: old, exists: existed, remaining: i.lag}
	}
}

// read returns the lagged value of key if a write is still propagating.
func (i *IAM) read(key, cur string, exists bool) (string, bool) {
	if s := i.stale[key]; s != nil {
		s.remaining--
		if s.remaining <= 0 {
			delete(i.stale, key)
		}
		return s.value, s.exists
	}
	return cur, exists
}

// policyOwner picks the role's or the user's inline policies.
func policyOwner(role *fakeRole, user *fakeUser) (kind, name string, policies map[string]string) {
	if role != nil {
		return "role", role.name, role.policies
	}
	return "user", user.name, user.policies
}

// Serve implements ServiceHandler.
func (i *IAM) Serve(w http.ResponseWriter, r *http.Request, op string) {
	f := readForm(r)
	i.mu.Lock()
	defer i.mu.Unlock()
	notFound := func(kind, name string) {
		i.q.writeError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The %s with name %s cannot be found.", kind, name))
	}
	roleName, userName := f.Get("RoleName"), f.Get("UserName")
	var role *fakeRole
	var user *fakeUser
	switch op {
	case "GetRole", "GetRolePolicy", "PutRolePolicy", "DeleteRolePolicy", "ListRolePolicies":
		if role = i.roles[roleName]; role == nil {
			notFound("role", roleName)
			return
		}
	case "GetUser", "ListAccessKeys", "UpdateAccessKey", "ListServiceSpecificCredentials", "UpdateServiceSpecificCredential",
		"GetUserPolicy", "PutUserPolicy", "DeleteUserPolicy":
		if user = i.users[userName]; user == nil {
			notFound("user", userName)
			return
		}
	}
	policyName := f.Get("PolicyName")
	switch op {
	case "GetRole":
		i.q.result(w, op, "<Role>"+el("Path", role.path)+el("RoleName", role.name)+el("RoleId", role.id)+
			el("Arn", RoleARN(role.name, role.path))+el("CreateDate", role.created.Format(time.RFC3339))+
			el("AssumeRolePolicyDocument", encodePolicy(`{"Version":"2012-10-17","Statement":[]}`))+
			el("MaxSessionDuration", fmt.Sprint(role.maxSession))+"</Role>")
	case "GetRolePolicy", "GetUserPolicy":
		kind, owner, pols := policyOwner(role, user)
		key := kind + "policy/" + owner + "/" + policyName
		cur, ok := pols[policyName]
		doc, ok := i.read(key, cur, ok)
		if !ok {
			i.q.writeError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The %s policy with name %s cannot be found.", kind, policyName))
			return
		}
		i.q.result(w, op, el(strings.ToUpper(kind[:1])+kind[1:]+"Name", owner)+el("PolicyName", policyName)+el("PolicyDocument", encodePolicy(doc)))
	case "ListRolePolicies":
		names := make([]string, 0, len(role.policies))
		for n := range role.policies {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			b.WriteString(el("member", n))
		}
		i.q.result(w, op, "<PolicyNames>"+b.String()+"</PolicyNames><IsTruncated>false</IsTruncated>")
	case "PutRolePolicy", "PutUserPolicy":
		kind, owner, pols := policyOwner(role, user)
		doc := f.Get("PolicyDocument")
		if role != nil && strings.HasPrefix(role.path, "/aws-service-role/") {
			i.q.writeError(w, http.StatusBadRequest, "UnmodifiableEntity", fmt.Sprintf("Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", roleName))
			return
		}
		if !json.Valid([]byte(doc)) {
			i.q.writeError(w, http.StatusBadRequest, "MalformedPolicyDocument", "Syntax errors in policy.")
			return
		}
		total := len(doc)
		for n, d := range pols {
			if n != policyName {
				total += len(d)
			}
		}
		if quota := inlinePolicyQuota[kind]; total > quota {
			i.q.writeError(w, http.StatusConflict, "LimitExceeded", fmt.Sprintf("Maximum policy size of %d bytes exceeded for %s %s", quota, kind, owner))
			return
		}
		old, existed := pols[policyName]
		i.markWritten(kind+"policy/"+owner+"/"+policyName, old, existed)
		pols[policyName] = doc
		i.q.result(w, op, "")
	case "DeleteRolePolicy", "DeleteUserPolicy":
		kind, owner, pols := policyOwner(role, user)
		old, existed := pols[policyName]
		if !existed {
			i.q.writeError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The %s policy with name %s cannot be found.", kind, policyName))
			return
		}
		i.markWritten(kind+"policy/"+owner+"/"+policyName, old, existed)
		delete(pols, policyName)
		i.q.result(w, op, "")
	case "GetUser":
		i.q.result(w, op, "<User>"+el("Path", "/")+el("UserName", user.name)+el("UserId", user.id)+
			el("Arn", "arn:aws:iam::"+AccountID+":user/"+user.name)+el("CreateDate", user.created.Format(time.RFC3339))+"</User>")
	case "GetAccessKeyLastUsed":
		// Finds the key's owner across the account's users. AWS documents
		// no error of its own for a key it does not know; like moto, the
		// fake answers NoSuchEntity.
		id := f.Get("AccessKeyId")
		for _, u := range i.users {
			for _, k := range u.keys {
				if k.id == id {
					i.q.result(w, op, el("UserName", u.name)+"<AccessKeyLastUsed>"+el("ServiceName", "N/A")+el("Region", "N/A")+"</AccessKeyLastUsed>")
					return
				}
			}
		}
		i.q.writeError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The Access Key with id %s cannot be found.", id))
	case "ListAccessKeys":
		var members []string
		for _, k := range user.keys {
			status, _ := i.read("key/"+user.name+"/"+k.id, k.status, true)
			members = append(members, "<member>"+el("UserName", user.name)+el("AccessKeyId", k.id)+el("Status", status)+
				el("CreateDate", k.created.Format(time.RFC3339))+"</member>")
		}
		items, pages := i.page(f, members)
		i.q.result(w, op, "<AccessKeyMetadata>"+items+"</AccessKeyMetadata>"+pages)
	case "UpdateAccessKey":
		status := f.Get("Status")
		if status != "Active" && status != "Inactive" {
			i.q.writeError(w, http.StatusBadRequest, "ValidationError", "status must be Active or Inactive")
			return
		}
		for _, k := range user.keys {
			if k.id == f.Get("AccessKeyId") {
				i.markWritten("key/"+user.name+"/"+k.id, k.status, true)
				k.status = status
				i.q.result(w, op, "")
				return
			}
		}
		notFound("access key", f.Get("AccessKeyId"))
	case "ListServiceSpecificCredentials":
		var members []string
		for _, c := range user.creds {
			if svc := f.Get("ServiceName"); svc != "" && svc != c.service {
				continue
			}
			status, _ := i.read("cred/"+user.name+"/"+c.id, c.status, true)
			members = append(members, "<member>"+el("UserName", user.name)+el("Status", status)+el("ServiceUserName", user.name+"-at-"+AccountID)+
				el("CreateDate", c.created.Format(time.RFC3339))+el("ServiceSpecificCredentialId", c.id)+el("ServiceName", c.service)+"</member>")
		}
		items, pages := i.page(f, members)
		i.q.result(w, op, "<ServiceSpecificCredentials>"+items+"</ServiceSpecificCredentials>"+pages)
	case "UpdateServiceSpecificCredential":
		status := f.Get("Status")
		if status != "Active" && status != "Inactive" {
			i.q.writeError(w, http.StatusBadRequest, "ValidationError", "status must be Active or Inactive")
			return
		}
		for _, c := range user.creds {
			if c.id == f.Get("ServiceSpecificCredentialId") {
				i.markWritten("cred/"+user.name+"/"+c.id, c.status, true)
				c.status = status
				i.q.result(w, op, "")
				return
			}
		}
		notFound("service specific credential", f.Get("ServiceSpecificCredentialId"))
	default:
		i.q.writeError(w, http.StatusBadRequest, "InvalidAction", "awsfake: IAM operation not implemented: "+op)
	}
}
