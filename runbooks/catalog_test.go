package runbooks

// testCatalog is a Catalog for tests: the core actions as the activities
// package declares them, and a few AWS-like ones under "fake." so they
// never collide with the real actions built-in runbooks use.
type testCatalog map[string]ActionSpec

func (c testCatalog) Action(name string) (ActionSpec, bool) {
	s, ok := c[name]
	return s, ok
}

func newTestCatalog() testCatalog {
	c := testCatalog{}
	for _, s := range []ActionSpec{
		{Name: "core.log", Args: []ArgSpec{{Name: "message", Type: "string", Required: true}}},
		{Name: "core.sleep", Args: []ArgSpec{{Name: "duration", Type: "duration", Required: true}}},
		{Name: "core.fail", Args: []ArgSpec{{Name: "message", Type: "string", Required: true}}},
		{Name: "core.record", Mutating: true, Args: []ArgSpec{
			{Name: "key", Type: "string", Required: true},
			{Name: "value", Type: "any", Required: true},
		}},
		{Name: "core.unrecord", UndoOnly: true, Args: []ArgSpec{{Name: "key", Type: "string", Required: true}}},
		{Name: "fake.deny_role_actions", Mutating: true, Args: []ArgSpec{
			{Name: "role_name", Type: "string", Required: true},
			{Name: "actions", Type: "list", Required: true},
			{Name: "mode", Type: "string", Enum: []string{"deny", "audit"}},
		}},
		{Name: "fake.limit_concurrency", Mutating: true, Args: []ArgSpec{
			{Name: "function_name", Type: "string", Required: true},
			{Name: "concurrency", Type: "int", Required: true},
			{Name: "hold", Type: "duration"},
			{Name: "dry", Type: "bool"},
			{Name: "tags", Type: "map"},
		}},
		{Name: "fake.throttle", Mutating: true, Args: []ArgSpec{
			{Name: "plan", Type: "string", Required: true},
			{Name: "rate", Type: "number", Required: true, Min: AtLeast(0)},
			{Name: "burst", Type: "int", Min: AtLeast(0)},
			{Name: "filters", Type: "list", Enum: []string{"HATE", "VIOLENCE"}},
			{Name: "note", Type: "any", Required: true},
		}},
	} {
		c[s.Name] = s
	}
	return c
}
