package awsfake

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch is the fake CloudWatch metrics API, spoken as Smithy RPC v2
// CBOR the way current SDKs call it: POST
// /service/GraniteServiceVersion20100801/operation/<Op>. It serves
// GetMetricData over seeded datapoints.
type CloudWatch struct {
	mu     sync.Mutex
	series map[string]*fakeSeries
}

// MetricPoint is one raw datapoint of a metric.
type MetricPoint struct {
	At    time.Time
	Value float64
}

type fakeSeries struct {
	namespace, name string
	dims            map[string]string
	points          []MetricPoint
}

// RegisterCloudWatch adds an empty CloudWatch service to srv (signing name "monitoring").
func RegisterCloudWatch(srv *Server) *CloudWatch {
	c := &CloudWatch{series: map[string]*fakeSeries{}}
	srv.Handle("monitoring", c)
	return c
}

// AddDatapoints records raw datapoints of a metric with exactly these dimensions.
func (c *CloudWatch) AddDatapoints(namespace, metric string, dims map[string]string, points ...MetricPoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := seriesKey(namespace, metric, dims)
	s := c.series[key]
	if s == nil {
		d := map[string]string{}
		for k, v := range dims {
			d[k] = v
		}
		s = &fakeSeries{namespace: namespace, name: metric, dims: d}
		c.series[key] = s
	}
	s.points = append(s.points, points...)
}

func seriesKey(namespace, metric string, dims map[string]string) string {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(namespace + "|" + metric)
	for _, k := range keys {
		b.WriteString("|" + k + "=" + dims[k])
	}
	return b.String()
}

const cloudWatchPathPrefix = "/service/GraniteServiceVersion20100801/operation/"

// Operation implements ServiceHandler.
func (c *CloudWatch) Operation(r *http.Request) string {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, cloudWatchPathPrefix) {
		return ""
	}
	return strings.TrimPrefix(r.URL.Path, cloudWatchPathPrefix)
}

// Mutating implements ServiceHandler: only reads are served.
func (c *CloudWatch) Mutating(string) bool { return false }

// WriteError implements ServiceHandler.
func (c *CloudWatch) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	cborWriteError(w, status, code, message)
}

var metricQueryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// Serve implements ServiceHandler.
func (c *CloudWatch) Serve(w http.ResponseWriter, r *http.Request, op string) {
	if r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		cborWriteError(w, http.StatusBadRequest, "InvalidAction", "missing header Smithy-Protocol: rpc-v2-cbor")
		return
	}
	if op != "GetMetricData" {
		cborWriteError(w, http.StatusBadRequest, "InvalidAction", "awsfake: CloudWatch operation not implemented: "+op)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		cborWriteError(w, http.StatusBadRequest, "ValidationError", err.Error())
		return
	}
	req, err := cbor.Decode(body)
	if err != nil {
		cborWriteError(w, http.StatusBadRequest, "SerializationException", "malformed CBOR body: "+err.Error())
		return
	}
	out, code, msg := c.getMetricData(newCBORFields(req, "GetMetricDataInput"))
	if code != "" {
		cborWriteError(w, http.StatusBadRequest, code, msg)
		return
	}
	cborWrite(w, http.StatusOK, out)
}

type metricQuery struct {
	id, label, stat string
	namespace, name string
	dims            map[string]string
	period          time.Duration
	returnData      bool
}

// getMetricData answers GetMetricData; on a client error it returns the error code and message.
func (c *CloudWatch) getMetricData(in *cborFields) (cbor.Value, string, string) {
	start, okStart := in.time("StartTime")
	end, okEnd := in.time("EndTime")
	if in.err == nil && (!okStart || !okEnd) {
		return nil, "ValidationError", "StartTime and EndTime are required"
	}
	if in.err == nil && !end.After(start) {
		return nil, "ValidationError", "The parameter EndTime must be greater than StartTime."
	}
	if in.str("NextToken") != "" {
		return nil, "InvalidNextToken", "awsfake: every GetMetricData answer fits one page"
	}
	ascending := in.str("ScanBy") == "TimestampAscending"
	var queries []metricQuery
	for i, qv := range in.list("MetricDataQueries") {
		q := newCBORFields(qv, fmt.Sprintf("MetricDataQueries[%d]", i))
		mq := metricQuery{id: q.str("Id"), label: q.str("Label"), returnData: q.boolean("ReturnData", true)}
		if q.str("Expression") != "" {
			return nil, "ValidationError", "awsfake: metric math expressions are not supported"
		}
		ms := q.sub("MetricStat")
		m := ms.sub("Metric")
		mq.stat, mq.namespace, mq.name = ms.str("Stat"), m.str("Namespace"), m.str("MetricName")
		mq.dims = map[string]string{}
		for j, dv := range m.list("Dimensions") {
			d := newCBORFields(dv, fmt.Sprintf("%s.MetricStat.Metric.Dimensions[%d]", q.path, j))
			mq.dims[d.str("Name")] = d.str("Value")
			if d.err != nil {
				return nil, "SerializationException", d.err.Error()
			}
		}
		period, _ := ms.int("Period")
		mq.period = time.Duration(period) * time.Second
		for _, f := range []*cborFields{q, ms, m} {
			if f.err != nil {
				return nil, "SerializationException", f.err.Error()
			}
		}
		switch {
		case !metricQueryID.MatchString(mq.id):
			return nil, "ValidationError", fmt.Sprintf("The value %q for parameter MetricDataQueries.member.%d.Id is invalid: it must start with a lower-case letter and contain only letters, digits and underscores.", mq.id, i+1)
		case mq.namespace == "" || mq.name == "" || mq.stat == "":
			return nil, "ValidationError", fmt.Sprintf("MetricDataQueries.member.%d.MetricStat needs Metric.Namespace, Metric.MetricName and Stat", i+1)
		case period <= 0 || (period >= 60 && period%60 != 0) || (period < 60 && 60%period != 0):
			return nil, "ValidationError", fmt.Sprintf("The parameter MetricDataQueries.member.%d.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60.", i+1)
		}
		if _, ok := aggregate(mq.stat, nil); !ok {
			return nil, "ValidationError", fmt.Sprintf("The parameter MetricDataQueries.member.%d.MetricStat.Stat %q is not supported", i+1, mq.stat)
		}
		queries = append(queries, mq)
	}
	if in.err != nil {
		return nil, "SerializationException", in.err.Error()
	}
	if len(queries) == 0 || len(queries) > 500 {
		return nil, "ValidationError", "MetricDataQueries must have between 1 and 500 members"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	results := cbor.List{}
	for _, q := range queries {
		if !q.returnData {
			continue
		}
		buckets := map[int64][]float64{}
		if s := c.series[seriesKey(q.namespace, q.name, q.dims)]; s != nil {
			for _, p := range s.points {
				if p.At.Before(start) || !p.At.Before(end) {
					continue
				}
				k := int64(p.At.Sub(start) / q.period)
				buckets[k] = append(buckets[k], p.Value)
			}
		}
		keys := make([]int64, 0, len(buckets))
		for k := range buckets {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if ascending {
				return keys[i] < keys[j]
			}
			return keys[i] > keys[j]
		})
		ts, vals := cbor.List{}, cbor.List{}
		for _, k := range keys {
			v, _ := aggregate(q.stat, buckets[k])
			ts = append(ts, cborTime(start.Add(time.Duration(k)*q.period)))
			vals = append(vals, cbor.Float64(v))
		}
		label := q.label
		if label == "" {
			label = q.name
		}
		results = append(results, cbor.Map{
			"Id": cbor.String(q.id), "Label": cbor.String(label),
			"Timestamps": ts, "Values": vals, "StatusCode": cbor.String("Complete"),
		})
	}
	return cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}, "", ""
}

// aggregate applies a CloudWatch statistic; ok is false for an unknown one.
func aggregate(stat string, vals []float64) (float64, bool) {
	sum, lo, hi := 0.0, 0.0, 0.0
	for i, v := range vals {
		sum += v
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	switch stat {
	case "Sum":
		return sum, true
	case "SampleCount":
		return float64(len(vals)), true
	case "Minimum":
		return lo, true
	case "Maximum":
		return hi, true
	case "Average":
		if len(vals) == 0 {
			return 0, true
		}
		return sum / float64(len(vals)), true
	}
	return 0, false
}
