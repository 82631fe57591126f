// Package runbooks holds the runbook model (DSL v1), its strict YAML parser,
// the validator, CEL expressions, and the built-in runbooks. The shared
// pieces are internal/strictyaml (reading YAML with positions) and
// internal/tmpl (the ${{ }} engine); this package gives them the runbook's
// fields and variables.
//
// A runbook is the Incident workflow's input, and Temporal refuses payloads
// over 2 MiB, so Parse bounds it: a file of at most 1 MiB, 500 steps,
// 64 KiB per string and 1.25 MiB as JSON (see MaxFileBytes). Measured: a
// plain runbook at the file and step limits is 1.04 MB of JSON; only
// escaping (<, > and & take six bytes in JSON) reaches the JSON limit. A
// 17 MB file is refused before it is decoded, in under a millisecond.
//
// It depends on nothing but the standard library, yaml.v3, cel-go and those
// two internal packages, so the CLI can validate runbooks without Temporal
// or AWS.
package runbooks
