package awsfake

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// requestSeq numbers responses so every RequestId differs.
var requestSeq atomic.Int64

func newRequestID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", requestSeq.Add(1))
}

// readForm parses an awsQuery form body and puts the body back, so
// Operation and Serve can both read it.
func readForm(r *http.Request) url.Values {
	if r.Body == nil {
		return url.Values{}
	}
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return url.Values{}
	}
	return v
}

// queryProtocol writes awsQuery (IAM, STS) responses and errors.
type queryProtocol struct {
	xmlns string
}

// operation reads Action= from the form body.
func (q queryProtocol) operation(r *http.Request) string {
	return readForm(r).Get("Action")
}

// result writes <OpResponse><OpResult>inner</OpResult><ResponseMetadata/></OpResponse>.
// inner is already-escaped XML.
func (q queryProtocol) result(w http.ResponseWriter, op, inner string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		op, q.xmlns, op, inner, op, newRequestID(), op)
}

// writeError writes <ErrorResponse><Error><Type/><Code/><Message/></Error>…
func (q queryProtocol) writeError(w http.ResponseWriter, status int, code, message string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		q.xmlns, typ, esc(code), esc(message), newRequestID())
}

// esc escapes text for an XML element body.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// el writes <name>escaped value</name>.
func el(name, value string) string {
	return "<" + name + ">" + esc(value) + "</" + name + ">"
}

// encodePolicy URL-encodes a policy document the way IAM returns it
// (RFC 3986 percent-encoding, spaces as %20).
func encodePolicy(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}
