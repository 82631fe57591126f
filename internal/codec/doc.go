// Package codec encrypts what quench writes into Temporal's history.
//
// Every payload a quench process sends to Temporal (workflow input with
// params and alert labels, activity inputs and results, signals, updates,
// query answers, memos, and failure messages) passes through Codec: it is
// sealed with AES-256-GCM under the newest configured key and tagged with
// that key's id, so the Temporal server, its database and anyone reading
// history with `temporal workflow show` see only ciphertext.
//
//	QUENCH_CODEC_KEYS="k2:BASE64,k1:BASE64"  (or QUENCH_CODEC_KEYS_FILE)
//	   └─ Parse → *Codec  first key encrypts, every key decrypts (rotation)
//	        ├─ ClientOptions   DataConverter + FailureConverter for client.Options
//	        └─ Handler         /encode and /decode for the Temporal UI and CLI,
//	                           bearer token and one CORS origin, fails closed
//
// Search attributes are not payloads the codec sees: they stay plaintext
// because Temporal indexes them. quench's are the runbook name, severity
// and state, never params or labels.
//
// It imports only the standard library and the Temporal SDK and API.
package codec
