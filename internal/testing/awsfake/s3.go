package awsfake

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// S3 is the fake S3: versioned buckets with their bucket policies and object
// versions, served over restXml. Buckets are addressed path-style
// (http://127.0.0.1:port/bucket/key, what the SDK does for an IP endpoint
// or with UsePathStyle) or virtual-hosted (bucket.host:port/key).
type S3 struct {
	mu      sync.Mutex
	buckets map[string]*fakeBucket
	// Now stamps versions that CopyObject creates; tests may pin it.
	Now func() time.Time
	// confirmRemoveSelf counts PutBucketPolicy calls that set
	// x-amz-confirm-remove-self-bucket-access, which quench must never do.
	confirmRemoveSelf int
}

type fakeBucket struct {
	policy    *string // exactly as put: S3 hands back the text it was given
	versioned bool
	versions  []*fakeObjectVersion // every key's versions, in creation order
	seq       int
}

type fakeObjectVersion struct {
	Key          string    `json:"key"`
	VersionID    string    `json:"version_id"`
	DeleteMarker bool      `json:"delete_marker,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	Size         int64     `json:"size"`
	Modified     time.Time `json:"-"`
	body         []byte
}

// ObjectVersion is one version of a key as the fake holds it.
type ObjectVersion struct {
	Key, VersionID, ETag string
	DeleteMarker, Latest bool
	Size                 int64
	LastModified         time.Time
	Body                 string
}

// MaxBucketPolicySize is S3's limit on a bucket policy, in bytes.
const MaxBucketPolicySize = 20 * 1024

// RegisterS3 adds an S3 with no buckets to srv.
func RegisterS3(srv *Server) *S3 {
	s := &S3{buckets: map[string]*fakeBucket{}, Now: time.Now}
	srv.Handle("s3", s)
	return s
}

// AddBucket creates an empty bucket; versioned buckets keep every version.
func (s *S3) AddBucket(name string, versioned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[name] = &fakeBucket{versioned: versioned}
}

// SetBucketPolicy seeds a bucket's policy text; "" removes it.
func (s *S3) SetBucketPolicy(bucket, policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBucket(bucket)
	if policy == "" {
		b.policy = nil
		return
	}
	b.policy = &policy
}

// BucketPolicy returns a bucket's policy text and whether it has one.
func (s *S3) BucketPolicy(bucket string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBucket(bucket)
	if b.policy == nil {
		return "", false
	}
	return *b.policy, true
}

// ConfirmRemoveSelfBucketAccessCalls counts PutBucketPolicy calls that
// confirmed removing the caller's own access to the bucket.
func (s *S3) ConfirmRemoveSelfBucketAccessCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.confirmRemoveSelf
}

// PutObject seeds a new version of key written at `at` and returns its version id.
func (s *S3) PutObject(bucket, key, body string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustBucket(bucket).add(bucket, key, []byte(body), false, at).VersionID
}

// DeleteObject seeds a delete marker for key at `at` and returns its version id.
func (s *S3) DeleteObject(bucket, key string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustBucket(bucket).add(bucket, key, nil, true, at).VersionID
}

// Versions lists key's versions, newest first.
func (s *S3) Versions(bucket, key string) []ObjectVersion {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ObjectVersion
	for _, v := range s.mustBucket(bucket).keyVersions(key) {
		out = append(out, ObjectVersion{Key: v.Key, VersionID: v.VersionID, ETag: v.ETag, DeleteMarker: v.DeleteMarker,
			Latest: len(out) == 0, Size: v.Size, LastModified: v.Modified, Body: string(v.body)})
	}
	return out
}

func (s *S3) mustBucket(name string) *fakeBucket {
	b := s.buckets[name]
	if b == nil {
		panic("awsfake: no S3 bucket " + name) // a test seeding a bucket it did not add
	}
	return b
}

// add appends a version (an unversioned bucket keeps only the latest, as
// version "null").
func (b *fakeBucket) add(bucket, key string, body []byte, deleteMarker bool, at time.Time) *fakeObjectVersion {
	b.seq++
	v := &fakeObjectVersion{Key: key, DeleteMarker: deleteMarker, Modified: at.UTC().Truncate(time.Millisecond), body: body}
	if !deleteMarker {
		sum := md5.Sum(body)
		v.ETag, v.Size = `"`+hex.EncodeToString(sum[:])+`"`, int64(len(body))
	}
	if b.versioned {
		// Opaque like S3's, and stable across runs for golden files.
		h := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", bucket, key, b.seq))
		v.VersionID = hex.EncodeToString(h[:16])
	} else {
		v.VersionID = "null"
		b.versions = slices.DeleteFunc(b.versions, func(o *fakeObjectVersion) bool { return o.Key == key })
		if deleteMarker {
			return v
		}
	}
	b.versions = append(b.versions, v)
	return v
}

// keyVersions lists key's versions newest first.
func (b *fakeBucket) keyVersions(key string) []*fakeObjectVersion {
	var out []*fakeObjectVersion
	for i := len(b.versions) - 1; i >= 0; i-- {
		if b.versions[i].Key == key {
			out = append(out, b.versions[i])
		}
	}
	return out
}

// listing is every version in S3's ListObjectVersions order: by key, then
// newest first.
func (b *fakeBucket) listing(prefix string) []*fakeObjectVersion {
	var keys []string
	for _, v := range b.versions {
		if strings.HasPrefix(v.Key, prefix) {
			keys = append(keys, v.Key)
		}
	}
	slices.Sort(keys)
	var out []*fakeObjectVersion
	for _, k := range slices.Compact(keys) {
		out = append(out, b.keyVersions(k)...)
	}
	return out
}

// Operation implements ServiceHandler.
func (s *S3) Operation(r *http.Request) string {
	_, key := s3Address(r)
	q := r.URL.Query()
	switch {
	case q.Has("policy"):
		return map[string]string{"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"}[r.Method]
	case q.Has("versions") && r.Method == http.MethodGet:
		return "ListObjectVersions"
	case key != "" && r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return "CopyObject"
	}
	return ""
}

// s3Address finds the bucket and key of a path-style or virtual-hosted request.
func s3Address(r *http.Request) (bucket, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if net.ParseIP(host) == nil && strings.Contains(host, ".") {
		b, _, _ := strings.Cut(host, ".")
		return b, path
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// WriteError implements ServiceHandler: S3's unwrapped <Error> document.
func (s *S3) WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	bucket, _ := s3Address(r)
	writeS3Error(w, status, code, message, bucket)
}

func writeS3Error(w http.ResponseWriter, status int, code, message, bucket string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", "FAKEREQUESTID")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName    xml.Name `xml:"Error"`
		Code       string
		Message    string
		BucketName string `xml:",omitempty"`
		RequestID  string `xml:"RequestId"`
	}{Code: code, Message: message, BucketName: bucket, RequestID: "FAKEREQUESTID"})
}

// Mutating implements ServiceHandler.
func (s *S3) Mutating(op string) bool {
	return op == "PutBucketPolicy" || op == "DeleteBucketPolicy" || op == "CopyObject"
}

func writeS3XML(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		panic(err) // a programming error in this package
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Serve implements ServiceHandler.
func (s *S3) Serve(w http.ResponseWriter, r *http.Request, op string) {
	bucket, key := s3Address(r)
	fail := func(status int, code, msg string) { writeS3Error(w, status, code, msg, bucket) }
	if op == "" {
		fail(http.StatusNotImplemented, "NotImplemented", fmt.Sprintf("awsfake: S3 request %s %s not implemented", r.Method, r.URL))
		return
	}
	body, err := readS3Body(r)
	if err != nil {
		fail(http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucket]
	if b == nil {
		fail(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	switch op {
	case "GetBucketPolicy":
		if b.policy == nil {
			fail(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, *b.policy)
	case "PutBucketPolicy":
		if confirm, _ := strconv.ParseBool(r.Header.Get("X-Amz-Confirm-Remove-Self-Bucket-Access")); confirm {
			s.confirmRemoveSelf++
		}
		if len(body) > MaxBucketPolicySize {
			fail(http.StatusBadRequest, "PolicyTooLarge", fmt.Sprintf("Policy exceeds the maximum allowed document size of %d bytes", MaxBucketPolicySize))
			return
		}
		var doc struct {
			Statement json.RawMessage
		}
		if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &doc) != nil || len(doc.Statement) == 0 {
			fail(http.StatusBadRequest, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
			return
		}
		p := string(body)
		b.policy = &p
		w.WriteHeader(http.StatusNoContent)
	case "DeleteBucketPolicy":
		b.policy = nil // deleting a missing policy succeeds, as in S3
		w.WriteHeader(http.StatusNoContent)
	case "ListObjectVersions":
		s.listVersions(w, r, b, bucket)
	case "CopyObject":
		s.copyObject(w, r, bucket, key, fail)
	}
}

// readS3Body reads a request body, decoding aws-chunked bodies (the SDK
// sends checksums as trailers that way).
func readS3Body(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil || !strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		return b, err
	}
	var out []byte
	for {
		line, rest, ok := bytes.Cut(b, []byte("\r\n"))
		if !ok {
			return nil, fmt.Errorf("aws-chunked body: missing chunk header")
		}
		sizeHex, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(sizeHex), 16, 64)
		if err != nil || int64(len(rest)) < n {
			return nil, fmt.Errorf("aws-chunked body: bad chunk size %q", sizeHex)
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, rest[:n]...)
		b = bytes.TrimPrefix(rest[n:], []byte("\r\n"))
	}
}

type s3Owner struct {
	ID string
}

type s3VersionXML struct {
	Key          string
	VersionID    string `xml:"VersionId"`
	IsLatest     bool
	LastModified string
	ETag         string `xml:",omitempty"`
	Size         *int64 `xml:",omitempty"`
	StorageClass string `xml:",omitempty"`
	Owner        s3Owner
}

func (s *S3) listVersions(w http.ResponseWriter, r *http.Request, b *fakeBucket, bucket string) {
	q := r.URL.Query()
	prefix, keyMarker, versionMarker := q.Get("prefix"), q.Get("key-marker"), q.Get("version-id-marker")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeS3Error(w, http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range", bucket)
			return
		}
		maxKeys = min(n, 1000)
	}
	if versionMarker != "" && keyMarker == "" {
		writeS3Error(w, http.StatusBadRequest, "InvalidArgument", "A version-id marker cannot be specified without a key marker.", bucket)
		return
	}
	all := b.listing(prefix)
	start := 0
	if keyMarker != "" {
		// After the marker: past every version of the marker key, or, with
		// a version marker, past that version of it.
		start = len(all)
		for i, v := range all {
			if v.Key > keyMarker || (v.Key == keyMarker && versionMarker != "" && i > 0 && all[i-1].Key == keyMarker && all[i-1].VersionID == versionMarker) {
				start = i
				break
			}
		}
	}
	type result struct {
		XMLName             xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
		Name                string
		Prefix              string
		KeyMarker           string
		VersionIDMarker     string `xml:"VersionIdMarker"`
		NextKeyMarker       string `xml:",omitempty"`
		NextVersionIDMarker string `xml:"NextVersionIdMarker,omitempty"`
		MaxKeys             int
		IsTruncated         bool
		Entries             []any
	}
	out := result{Name: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIDMarker: versionMarker, MaxKeys: maxKeys}
	page := all[start:]
	if len(page) > maxKeys {
		page = page[:maxKeys]
		last := page[len(page)-1]
		out.IsTruncated, out.NextKeyMarker, out.NextVersionIDMarker = true, last.Key, last.VersionID
	}
	for i, v := range page {
		latest := start+i == 0 || all[start+i-1].Key != v.Key
		x := s3VersionXML{Key: v.Key, VersionID: v.VersionID, IsLatest: latest, LastModified: s3Time(v.Modified), Owner: s3Owner{ID: AccountID}}
		if v.DeleteMarker {
			out.Entries = append(out.Entries, struct {
				XMLName xml.Name `xml:"DeleteMarker"`
				s3VersionXML
			}{s3VersionXML: x})
			continue
		}
		size := v.Size
		x.ETag, x.Size, x.StorageClass = v.ETag, &size, "STANDARD"
		out.Entries = append(out.Entries, struct {
			XMLName xml.Name `xml:"Version"`
			s3VersionXML
		}{s3VersionXML: x})
	}
	writeS3XML(w, out)
}

func (s *S3) copyObject(w http.ResponseWriter, r *http.Request, bucket, key string, fail func(int, string, string)) {
	srcPath, srcQuery, _ := strings.Cut(r.Header.Get("X-Amz-Copy-Source"), "?")
	src, err := url.PathUnescape(strings.TrimPrefix(srcPath, "/"))
	q, qerr := url.ParseQuery(srcQuery)
	srcBucket, srcKey, ok := strings.Cut(src, "/")
	if err != nil || qerr != nil || !ok || srcKey == "" {
		fail(http.StatusBadRequest, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
		return
	}
	sb := s.buckets[srcBucket]
	if sb == nil {
		fail(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	versions := sb.keyVersions(srcKey)
	var from *fakeObjectVersion
	if id := q.Get("versionId"); id != "" {
		for _, v := range versions {
			if v.VersionID == id {
				from = v
			}
		}
		switch {
		case from == nil:
			fail(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
			return
		case from.DeleteMarker:
			fail(http.StatusBadRequest, "InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.")
			return
		}
	} else {
		if len(versions) == 0 || versions[0].DeleteMarker {
			fail(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		from = versions[0]
		if srcBucket == bucket && srcKey == key && r.Header.Get("X-Amz-Metadata-Directive") != "REPLACE" {
			fail(http.StatusBadRequest, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
			return
		}
	}
	nv := s.buckets[bucket].add(bucket, key, from.body, false, s.Now())
	if nv.VersionID != "null" {
		w.Header().Set("X-Amz-Version-Id", nv.VersionID)
	}
	if from.VersionID != "null" {
		w.Header().Set("X-Amz-Copy-Source-Version-Id", from.VersionID)
	}
	writeS3XML(w, struct {
		XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
		ETag         string
		LastModified string
	}{ETag: nv.ETag, LastModified: s3Time(nv.Modified)})
}
