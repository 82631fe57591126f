package incidents

import "sync"

// openIncidentsSize bounds the ids FoldAlert remembers as open: more than
// a storm has distinct incidents, small enough not to matter in memory.
const openIncidentsSize = 4096

// openIncidents remembers incident ids recently seen open, so the alerts
// of a storm go straight to SignalWithStart instead of first trying a
// start that fails. It only picks which of two correct calls is tried
// first: an id remembered after its incident closed is started again by
// SignalWithStart, just not eagerly. When full, it forgets everything.
type openIncidents struct {
	mu  sync.Mutex
	max int
	ids map[string]struct{}
}

func newOpenIncidents(max int) *openIncidents {
	return &openIncidents{max: max, ids: map[string]struct{}{}}
}

func (o *openIncidents) has(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.ids[id]
	return ok
}

func (o *openIncidents) add(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ids) >= o.max {
		clear(o.ids)
	}
	o.ids[id] = struct{}{}
}
