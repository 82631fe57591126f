// Package archtest holds tests that keep quench's package boundaries:
// workflow code free of network clients, and test servers out of
// production code. It has no code of its own.
package archtest
