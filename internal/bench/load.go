package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// poster sends alerts to /alerts/generic as a sender that retries would:
// 429 and 503 are retried after Retry-After; anything else is final.
type poster struct {
	url   string
	token string
	hc    *http.Client

	shed   atomic.Int64 // 429/503 answers (each retried)
	failed atomic.Int64 // answers that were neither 2xx nor retried
}

func newPoster(base, token string, conns int) *poster {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &poster{url: base + "/alerts/generic", token: token, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

func (p *poster) close() { p.hc.CloseIdleConnections() }

// alertBody is one generic alert for target (the dedup key) with a
// fingerprint of its own, so nothing can mistake two alerts for one.
func alertBody(name, target string, seq int64) []byte {
	b, _ := json.Marshal(map[string]any{
		"name":        name,
		"fingerprint": target + "-" + strconv.FormatInt(seq, 10),
		"labels":      map[string]string{"target": target},
		"summary":     "bench alert " + strconv.FormatInt(seq, 10),
	})
	return b
}

// accepted is one alert acknowledged with 2xx.
type accepted struct {
	incident string
	latency  time.Duration // of the attempt that was acknowledged
	total    time.Duration // from the first attempt, retries included
}

// post sends body until it is acknowledged or refused for good.
func (p *poster) post(ctx context.Context, body []byte) (accepted, error) {
	first := time.Now()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
		if err != nil {
			return accepted{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+p.token)
		t0 := time.Now()
		resp, err := p.hc.Do(req)
		if err != nil {
			p.failed.Add(1)
			return accepted{}, fmt.Errorf("post alert: %w", err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(t0)
		switch {
		case resp.StatusCode/100 == 2:
			var r struct {
				Incidents []struct {
					ID string `json:"id"`
				} `json:"incidents"`
			}
			if err := json.Unmarshal(data, &r); err != nil || len(r.Incidents) != 1 {
				p.failed.Add(1)
				return accepted{}, fmt.Errorf("alert acknowledged %d without one incident: %s", resp.StatusCode, data)
			}
			return accepted{incident: r.Incidents[0].ID, latency: took, total: time.Since(first)}, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			p.shed.Add(1)
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			select {
			case <-ctx.Done():
				return accepted{}, ctx.Err()
			case <-time.After(wait):
			}
		default:
			p.failed.Add(1)
			return accepted{}, fmt.Errorf("alert refused %d: %s", resp.StatusCode, bytes.TrimSpace(data))
		}
	}
}
