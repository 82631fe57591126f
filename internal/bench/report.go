package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one line of the report: the figure measured when the issue was
// filed, the same figure for quench dev now and for the peer, the issue's
// target, and the commands behind it.
type Row struct {
	Figure  string
	Before  string // measured on quench dev when issue 12 was filed
	Quench  string
	Peer    string
	Target  string
	Rerun   string // the harness command for this row alone
	Command string // what ran under the harness
}

// Rows turns results into report rows, in the order.
func (r *Results) Rows() []Row {
	var rows []Row
	add := func(row Row, peerCommand string) {
		if row.Peer == "" {
			row.Peer = "—"
		} else {
			row.Command += "\n  peer: " + peerCommand
		}
		if row.Before == "" {
			row.Before = "— (not in the issue's table)"
		}
		rows = append(rows, row)
	}
	if l := r.Latency; l != nil {
		row := Row{
			Figure: "alert → first containment step done, one at a time",
			Before: "p50 83 ms, p99 111 ms", Quench: latencyText(l),
			Target: "p99 < 50 ms", Rerun: "quench bench --only latency", Command: l.Command,
		}
		var pc string
		if p := r.PeerLatency; p != nil {
			row.Peer, pc = latencyText(p), p.Command
		}
		add(row, pc)
	}
	if b := r.Burst; b != nil {
		row := Row{
			Figure: fmt.Sprintf("%d distinct alerts at once → all contained", b.Alerts),
			Before: "38.5–41 s (≈25 incidents/s; posting 9 s); 205 s with the cores busy; peer 45.7 s",
			Quench: burstText(b), Target: "< 10 s (< 20 s with the cores shared); ≥ 4× faster than the peer",
			Rerun: "quench bench --only burst", Command: b.Command,
		}
		var pc string
		if p := r.PeerBurst; p != nil {
			row.Peer = burstText(p) + fmt.Sprintf("; quench dev %.1f× faster", p.Wall.Seconds()/b.Wall.Seconds())
			pc = p.Command
		}
		add(row, pc)
	}
	if s := r.Storm; s != nil {
		row := Row{
			Figure: fmt.Sprintf("storm: %d dedup keys, %d connections, %s", s.Keys, s.Conns, s.Duration.Round(100*time.Millisecond)),
			Before: "559 alerts/s (p99 230 ms), 0 lost, 10 incidents; peer 386/s",
			Quench: stormText(s), Target: "≥ 5,000/s, 0 lost, exactly 10 incidents",
			Rerun: "quench bench --only storm", Command: s.Command,
		}
		var pc string
		if p := r.PeerStorm; p != nil {
			row.Peer, pc = stormText(p), p.Command
		}
		add(row, pc)
	}
	if m := r.RSS; m != nil {
		row := Row{
			Figure: fmt.Sprintf("RSS with %d incidents waiting for approval", m.Incidents),
			Before: "156 → 361 MB", Quench: rssText(m),
			Target: "< 250 MB", Rerun: "quench bench --only rss", Command: m.Command,
		}
		var pc string
		if p := r.PeerRSS; p != nil {
			row.Peer, pc = rssText(p)+" (sum of the three processes)", p.Command
		}
		add(row, pc)
	}
	if s := r.Startup; s != nil {
		row := Row{
			Figure: "quench dev to ready (exec → ready line)",
			Before: "0.72 s fresh, 0.5 s warm (before the store probe)", Quench: startupText(s),
			Target: "< 1 s", Rerun: "quench bench --only startup", Command: s.Command,
		}
		var pc string
		if p := r.PeerStartup; p != nil {
			row.Peer, pc = startupText(p)+" (server exec → quench serve ready)", p.Command
		}
		add(row, pc)
	}
	if o := r.Overhead; o != nil {
		row := Row{
			Figure: fmt.Sprintf("engine overhead: runbook of %d no-op steps vs hand-written workflow", o.Steps),
			Quench: overheadText(o), Target: "≤ 1.10", Rerun: "quench bench --only overhead",
			Command: o.Command + " + a worker in the harness on task queue " + overheadQueue,
		}
		var pc string
		if p := r.PeerOverhead; p != nil {
			row.Peer, pc = overheadText(p), p.Command
		}
		add(row, pc)
	}
	if c := r.Crash; c != nil {
		row := Row{
			Figure: "time to containment after a worker crash (kill -9 mid-step)",
			Quench: crashText(c), Target: "seconds (< 30 s)", Rerun: "quench bench --only crash", Command: c.Command,
		}
		var pc string
		if p := r.PeerCrash; p != nil {
			row.Peer, pc = crashText(p), p.Command
		}
		add(row, pc)
	}
	return rows
}

func latencyText(l *LatencyResult) string {
	return fmt.Sprintf("p50 %s, p99 %s (%d alerts)", ms(l.P50), ms(l.P99), l.Alerts)
}

func rssText(m *RSSResult) string {
	return fmt.Sprintf("%s idle → %s (peak %s; loaded: %s own memory + %s mapped executable)", mib(m.Idle), mib(m.Loaded), mib(m.Peak), mib(m.LoadedAnon), mib(m.LoadedFile))
}

func startupText(s *StartupResult) string {
	return fmt.Sprintf("fresh %s, warm %s (median of %d)", secs(median(s.Fresh)), secs(median(s.Warm)), len(s.Fresh))
}

func overheadText(o *OverheadResult) string {
	return fmt.Sprintf("%s vs %s: ratio %.2f (medians of %d alternating runs)", ms(o.RunbookMedian), ms(o.HandwrittenMedn), o.Ratio, len(o.Runbook))
}

func crashText(c *CrashResult) string {
	return fmt.Sprintf("step done %s after the kill (median of %d; retried after %s; the step itself takes %s)",
		secs(median(c.Done)), len(c.Done), secs(median(c.Retried)), secs(c.StepTime))
}

func burstText(b *BurstResult) string {
	s := fmt.Sprintf("%s (%.0f incidents/s; posting %s; %d/%d contained)", secs(b.Wall), b.PerSecond, secs(b.Post), b.Contained, b.Incidents)
	if b.Shed > 0 {
		s += fmt.Sprintf("; %d answers 429/503, retried", b.Shed)
	}
	return s
}

func stormText(s *StormResult) string {
	t := fmt.Sprintf("%.0f alerts/s, p50 %s, p99 %s; lost %d; %d incidents (%d running); folded %d of %d acknowledged",
		s.PerSecond, ms(s.P50), ms(s.P99), s.Lost, s.Incidents, s.Running, s.Folded, s.Accepted)
	if s.Shed > 0 {
		t += fmt.Sprintf("; %d answers 429/503, retried (p99 with retries %s)", s.Shed, ms(s.P99Total))
	}
	if s.Failed > 0 {
		t += fmt.Sprintf("; %d failed", s.Failed)
	}
	return t
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }

// WriteTable prints the machine, the table and the commands behind it.
func (r *Results) WriteTable(w io.Writer) error {
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs, %s; %s; %s\n", m.CPUs, m.Model, m.GoVersion, m.Date.Format(time.RFC3339))
	fmt.Fprintf(w, "load average (1/5/15 min): %s before, %s after\n", m.LoadBefore, m.LoadAfter)
	if m.Quench != "" {
		fmt.Fprintf(w, "quench: %s\n", m.Quench)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tfigure\tbefore (issue 12, when filed)\tquench dev now\tpeer (temporal start-dev + quench worker + serve)\ttarget")
	rows := r.Rows()
	for i, row := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i+1, row.Figure, row.Before, row.Quench, row.Peer, row.Target)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\ncommands:")
	for i, row := range rows {
		fmt.Fprintf(w, "%d. %s\n   %s\n", i+1, row.Rerun, strings.ReplaceAll(row.Command, "\n", "\n   "))
	}
	if r.PeerNote != "" {
		fmt.Fprintln(w, "\n"+r.PeerNote)
	}
	for _, p := range r.profiles() {
		fmt.Fprintf(w, "profile: %s\n", p)
	}
	for _, err := range r.Errors {
		fmt.Fprintf(w, "FAILED: %v\n", err)
	}
	return nil
}

func (r *Results) profiles() []string {
	var out []string
	if r.Burst != nil {
		out = append(out, r.Burst.Profiles...)
	}
	if r.Storm != nil {
		out = append(out, r.Storm.Profiles...)
	}
	if r.RSS != nil && r.RSS.Profile != "" {
		out = append(out, r.RSS.Profile)
	}
	return out
}
