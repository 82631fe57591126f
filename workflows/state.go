package workflows

// incidentState is the interpreter's whole state; see incident.go.
type incidentState struct{}
