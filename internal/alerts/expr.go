package alerts

import (
	"github.com/google/cel-go/cel"

	"github.com/quenchhq/quench/internal/tmpl"
)

// Route params and dedup keys are `${{ expr }}` templates (internal/tmpl)
// over one variable, `alert` (source, name, status, fingerprint,
// finding_type, labels, annotations, summary, starts_at). They are
// compiled when the routing file is loaded, so a bad one is reported with
// its position and never reaches an alert.

// exprCostLimit bounds one evaluation; route templates run on every alert.
const exprCostLimit = 100_000

var alertTemplates = tmpl.New(exprCostLimit, cel.Variable("alert", cel.MapType(cel.StringType, cel.DynType)))

// vars binds an alert's CEL value (Alert.celValue) to the `alert` variable.
func vars(alert map[string]any) map[string]any { return map[string]any{"alert": alert} }

// template is a compiled dedup_key.
type template struct{ *tmpl.Template }

func (t template) eval(alert map[string]any) (any, error) { return t.Render(vars(alert)) }

// renderValue evaluates the templates in route params compiled by
// alertTemplates.CompileValue.
func renderValue(v any, alert map[string]any) (any, error) { return tmpl.RenderValue(v, vars(alert)) }
