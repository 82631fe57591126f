package runbooks

import "github.com/quenchhq/quench/internal/strictyaml"

// Error is one problem in a runbook, at a position in its source: Source,
// Line and Col (1-based; 0 means unknown) and Msg. Its Error method
// formats it as "source:line:col: message", leaving out what is unknown.
// Routing files (internal/alerts) report their problems with it too.
type Error = strictyaml.Error

// Errors is every problem found in a runbook, in source order. Parse,
// Validate and Load return it (as error) so callers can show them all at
// once; its Error method joins them one per line.
type Errors = strictyaml.Errors
