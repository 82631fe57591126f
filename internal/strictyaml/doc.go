// Package strictyaml reads YAML configuration files strictly and reports
// every problem as "source:line:col: message".
//
// It owns what runbooks and routing files share: decoding exactly one
// document (refusing extra documents, and never panicking on bad input),
// mappings read against a table of known fields (unknown fields with a
// "did you mean" suggestion, duplicate keys, keys that are not plain names,
// aliases), typed scalars (string, integer, number, boolean, duration,
// list of strings), free-form values, an optional maximum string size,
// the position of every value by path, and the positioned Error type.
//
// What a file means is not here: runbooks and internal/alerts give the
// field tables and check the values. It imports only the standard library
// and yaml.v3: no CEL, no Temporal, no AWS, no Slack.
package strictyaml
