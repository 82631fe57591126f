package alerts

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quenchhq/quench/workflows/contract"
)

// Bounds on what a parser copies from a payload into labels. The signal is
// bounded again as a whole (contract.AlertSignal.Bounded), but labels also
// reach the incident input and route expressions, so each parser keeps
// them small at the source: a root-cause list or a request parameter a
// caller controls must not become a 1 KiB label.
const (
	maxLabelValue = 256 // bytes of one extracted value
	maxListItems  = 10  // distinct items a list label joins
)

// clip cuts s to at most maxLabelValue bytes on a UTF-8 boundary and marks
// the cut the way contract.AlertSignal.Bounded does.
func clip(s string) string {
	if len(s) <= maxLabelValue {
		return s
	}
	cut := maxLabelValue - len(contract.TruncatedMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + contract.TruncatedMarker
}

// joinDistinct joins the distinct non-empty values in their first-seen
// order with commas: at most maxListItems of them, within maxLabelValue,
// then ",+N more" for the values left out, so a reader knows the list is cut.
func joinDistinct(values []string) string {
	const room = maxLabelValue - len(",+1000 more")
	var seen []string
	var b strings.Builder
	more := 0
	for _, v := range values {
		if v == "" || slices.Contains(seen, v) {
			continue
		}
		// seen holds only what is shown, so a hostile list costs
		// len(values) × maxListItems comparisons at most; the rest are
		// counted, repeats included.
		if len(seen) == maxListItems || b.Len()+len(v)+1 > room {
			more++
			continue
		}
		seen = append(seen, v)
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v)
	}
	if more > 0 {
		b.WriteString(",+" + strconv.Itoa(more) + " more")
	}
	return clip(b.String())
}

// formatNumber writes a payload number the way people read it (1001, 333.67).
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// setNumber sets k to the formatted number when the payload had one.
func setNumber(labels map[string]string, k string, f *float64) {
	if f != nil {
		labels[k] = formatNumber(*f)
	}
}
