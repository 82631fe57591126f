package worker_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/quenchhq/quench/activities"
	awsactions "github.com/quenchhq/quench/activities/aws"
	"github.com/quenchhq/quench/internal/incidents"
	"github.com/quenchhq/quench/internal/testing/tlstest"
	"github.com/quenchhq/quench/runbooks"
	"github.com/quenchhq/quench/worker"
	"github.com/quenchhq/quench/workflows/contract"
)

// clearConnectionEnv unsets every connection variable the machine running
// the test may have, for this test.
func clearConnectionEnv(t *testing.T) {
	for _, v := range []string{
		"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TLS", "TEMPORAL_API_KEY",
		"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CLIENT_CERT_DATA",
		"TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CLIENT_KEY_DATA",
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
		"TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
	} {
		t.Setenv(v, "")
	}
}

// setEnv sets the variables for one case and returns the config a process
// started with them would load.
func setEnv(t *testing.T, kv map[string]string) worker.Config {
	t.Helper()
	clearConnectionEnv(t)
	for k, v := range kv {
		t.Setenv(k, v)
	}
	return worker.ConfigFromEnv()
}

func dial(t *testing.T, cfg worker.Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := worker.Dial(ctx, cfg, quiet)
	if err == nil {
		c.Close()
	}
	return err
}

const logRunbook = `apiVersion: quench/v1
kind: Runbook
metadata: {name: tls-drill, severity: low}
steps:
  - id: say
    action: core.log
    with: {message: 'contained over mTLS'}
`

// An incident runs end to end through a client and worker that reach
// Temporal only through a proxy demanding mutual TLS, configured only by
// the environment: CA, client certificate and key generated here.
func TestTLSIncidentRunsOverMutualTLS(t *testing.T) {
	ts := startTemporal(t)
	dir := t.TempDir()
	serverCA, clientCA := tlstest.NewCA(t, "quench test server CA"), tlstest.NewCA(t, "quench test client CA")
	srvCert, srvKey := serverCA.Server(t)
	cliCert, cliKey := clientCA.Client(t, "quench-worker")
	addr := tlstest.Proxy(t, tlstest.ServerConfig(t, srvCert, srvKey, clientCA), ts.GetFrontendHostPort())
	caFile := tlstest.WriteFile(t, dir, "ca.pem", serverCA.PEM)
	certFile := tlstest.WriteFile(t, dir, "client.pem", cliCert)
	keyFile := tlstest.WriteFile(t, dir, "client.key", cliKey)

	cfg := setEnv(t, map[string]string{
		"TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ts.GetDefaultNamespace(),
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH": caFile,
		"TEMPORAL_TLS_CLIENT_CERT_PATH":    certFile,
		"TEMPORAL_TLS_CLIENT_KEY_PATH":     keyFile,
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := worker.Dial(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reg, err := worker.BuildRegistry(ctx, worker.ActionOptions{Logger: quiet, AWS: awsactions.NewProvider(aws.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, cfg, reg, activities.NewNotifier(nil, "", quiet))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	rb, err := runbooks.Load("tls.yaml", []byte(logRunbook), reg)
	if err != nil {
		t.Fatal(err)
	}
	inc := incidents.New(c, cfg.TaskQueue).WithNamespace(cfg.Namespace)
	if _, err := inc.Start(ctx, contract.IncidentInput{ID: "tls-1", Runbook: *rb, Source: "cli", Requester: "carol"}); err != nil {
		t.Fatal(err)
	}
	st := waitFor(t, inc, "tls-1", 30*time.Second, func(st contract.Status) bool { return st.State == contract.StateContained })
	if s := st.Steps[0]; s.State != contract.StepSucceeded {
		t.Fatalf("step over mTLS: %+v", s)
	}
	if err := inc.Resolve(ctx, "tls-1", contract.ResolveRequest{Actor: "carol", Mode: "keep"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, inc, "tls-1", 30*time.Second, func(st contract.Status) bool { return st.State == contract.StateClosed })

	base := map[string]string{"TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ts.GetDefaultNamespace()}
	with := func(kv map[string]string) worker.Config {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range kv {
			m[k] = v
		}
		return setEnv(t, m)
	}
	t.Run("the temporal CLI's short names work too", func(t *testing.T) {
		cfg := with(map[string]string{"TEMPORAL_TLS_CA": caFile, "TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_KEY": keyFile})
		if err := dial(t, cfg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("inline PEM works", func(t *testing.T) {
		cfg := with(map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_DATA": string(serverCA.PEM),
			"TEMPORAL_TLS_CLIENT_CERT_DATA": string(cliCert), "TEMPORAL_TLS_CLIENT_KEY_DATA": string(cliKey)})
		if err := dial(t, cfg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("server name is checked against the certificate", func(t *testing.T) {
		cfg := with(map[string]string{"TEMPORAL_TLS_CA": caFile, "TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_KEY": keyFile,
			"TEMPORAL_TLS_SERVER_NAME": tlstest.ServerName})
		if err := dial(t, cfg); err != nil {
			t.Fatalf("with the certificate's name: %v", err)
		}
		t.Setenv("TEMPORAL_TLS_SERVER_NAME", "other.test")
		err := dial(t, worker.ConfigFromEnv())
		if err == nil || !strings.Contains(err.Error(), "other.test") {
			t.Fatalf("with a name not in the certificate: %v; want a certificate error naming other.test", err)
		}
	})
	t.Run("no client certificate is refused", func(t *testing.T) {
		err := dial(t, with(map[string]string{"TEMPORAL_TLS_CA": caFile}))
		if err == nil {
			t.Fatal("connected to an mTLS server without a client certificate")
		}
		t.Logf("without a client certificate: %v", err)
	})
	t.Run("a server outside the CA is refused", func(t *testing.T) {
		other := tlstest.WriteFile(t, t.TempDir(), "other-ca.pem", tlstest.NewCA(t, "some other CA").PEM)
		err := dial(t, with(map[string]string{"TEMPORAL_TLS_CA": other, "TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_KEY": keyFile}))
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("with the wrong CA: %v; want a certificate error", err)
		}
	})
	t.Run("plaintext is refused", func(t *testing.T) {
		if err := dial(t, with(nil)); err == nil {
			t.Fatal("a plaintext client connected through the mTLS proxy")
		}
	})
}

// Every bad setting stops Dial before it connects, with an error naming
// the variable and, for a file, its path.
func TestTLSBadSettingsFailWithTheVariableAndFile(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "quench test CA")
	cert, key := ca.Client(t, "quench-worker")
	_, otherKey := ca.Client(t, "someone-else")
	caFile := tlstest.WriteFile(t, dir, "ca.pem", ca.PEM)
	certFile := tlstest.WriteFile(t, dir, "client.pem", cert)
	keyFile := tlstest.WriteFile(t, dir, "client.key", key)
	otherKeyFile := tlstest.WriteFile(t, dir, "other.key", otherKey)
	garbage := tlstest.WriteFile(t, dir, "garbage.pem", []byte("not a certificate\n"))
	badCert := tlstest.WriteFile(t, dir, "bad.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"missing CA file", map[string]string{"TEMPORAL_TLS_CA": missing},
			[]string{"TEMPORAL_TLS_CA=" + missing, "no such file"}},
		{"missing client certificate", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": missing, "TEMPORAL_TLS_CLIENT_KEY_PATH": keyFile},
			[]string{"client certificate TEMPORAL_TLS_CLIENT_CERT_PATH=" + missing, "no such file"}},
		{"missing client key", map[string]string{"TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_KEY": missing},
			[]string{"client key TEMPORAL_TLS_KEY=" + missing, "no such file"}},
		{"CA file without a certificate", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": garbage},
			[]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + garbage, "no PEM CERTIFICATE block"}},
		{"CA file with a broken certificate", map[string]string{"TEMPORAL_TLS_CA": badCert},
			[]string{"TEMPORAL_TLS_CA=" + badCert, "certificate 1"}},
		{"key that does not match the certificate", map[string]string{"TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_KEY": otherKeyFile},
			[]string{"TEMPORAL_TLS_CERT=" + certFile, "TEMPORAL_TLS_KEY=" + otherKeyFile, "private key does not match"}},
		{"certificate without a key", map[string]string{"TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_CA": caFile},
			[]string{"TEMPORAL_TLS_CERT=" + certFile, "no key is set", "TEMPORAL_TLS_CLIENT_KEY_PATH"}},
		{"key without a certificate", map[string]string{"TEMPORAL_TLS_CLIENT_KEY_PATH": keyFile},
			[]string{"TEMPORAL_TLS_CLIENT_KEY_PATH=" + keyFile, "no certificate is set", "TEMPORAL_TLS_CLIENT_CERT_PATH"}},
		{"a setting under two names, differently", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": caFile, "TEMPORAL_TLS_CA": garbage},
			[]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_CA are both set"}},
		{"a path and inline data", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": certFile, "TEMPORAL_TLS_CLIENT_CERT_DATA": string(cert)},
			[]string{"TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_CERT_DATA are both set"}},
		{"TLS off with a client certificate", map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_KEY": keyFile},
			[]string{"TEMPORAL_TLS=false turns TLS off"}},
		{"TLS neither on nor off", map[string]string{"TEMPORAL_TLS": "yes"},
			[]string{"TEMPORAL_TLS=yes", "want true, false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Nothing listens here: the error must come before any dial.
			cfg := setEnv(t, tc.env)
			cfg.TemporalAddress = "127.0.0.1:1"
			err := dial(t, cfg)
			if err == nil {
				t.Fatal("dialled")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "connect to Temporal") {
				t.Errorf("error %q came from dialling, not from the settings", err)
			}
		})
	}
	t.Run("same value under both names is fine", func(t *testing.T) {
		cfg := setEnv(t, map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": caFile, "TEMPORAL_TLS_CA": caFile})
		cfg.TemporalAddress = "127.0.0.1:1"
		if err := dial(t, cfg); err == nil || !strings.Contains(err.Error(), "connect to Temporal") {
			t.Fatalf("got %v; want the settings accepted and the dial to fail", err)
		}
	})
}

// keyRecorder is a TLS gRPC server answering only GetSystemInfo (all the
// SDK calls when it dials) and recording the authorization header.
type keyRecorder struct {
	workflowservice.UnimplementedWorkflowServiceServer
	mu    sync.Mutex
	auth  []string
	calls int
}

func (k *keyRecorder) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	k.auth = append(k.auth, md.Get("authorization")...)
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (k *keyRecorder) seen() (int, []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls, append([]string(nil), k.auth...)
}

func serveRecorder(t *testing.T, creds *tls.Config) (*keyRecorder, string) {
	t.Helper()
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(creds)))
	}
	s := grpc.NewServer(opts...)
	rec := &keyRecorder{}
	workflowservice.RegisterWorkflowServiceServer(s, rec)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return rec, ln.Addr().String()
}

// TEMPORAL_API_KEY reaches the server as "authorization: Bearer <key>",
// and on its own turns TLS on: the key is never sent in plaintext.
func TestAPIKeyIsSentAsBearerTokenOverTLS(t *testing.T) {
	const key = "quench-test-api-key"
	ca := tlstest.NewCA(t, "quench test CA")
	srvCert, srvKey := ca.Server(t)
	caFile := tlstest.WriteFile(t, t.TempDir(), "ca.pem", ca.PEM)

	tlsRec, tlsAddr := serveRecorder(t, tlstest.ServerConfig(t, srvCert, srvKey, nil))
	cfg := setEnv(t, map[string]string{"TEMPORAL_ADDRESS": tlsAddr, "TEMPORAL_API_KEY": key, "TEMPORAL_TLS_CA": caFile})
	if err := dial(t, cfg); err != nil {
		t.Fatal(err)
	}
	if _, auth := tlsRec.seen(); len(auth) == 0 || auth[0] != "Bearer "+key {
		t.Fatalf("authorization headers %q; want %q", auth, "Bearer "+key)
	}

	// With only the key, the client speaks TLS: to a plaintext server the
	// handshake fails and the server never sees a call, let alone the key.
	plainRec, plainAddr := serveRecorder(t, nil)
	cfg = setEnv(t, map[string]string{"TEMPORAL_ADDRESS": plainAddr, "TEMPORAL_API_KEY": key})
	err := dial(t, cfg)
	if err == nil {
		t.Fatal("an API key was used over plaintext")
	}
	if calls, auth := plainRec.seen(); calls != 0 || len(auth) != 0 {
		t.Fatalf("the plaintext server got %d calls, authorization %q", calls, auth)
	}
	// And the same key against the TLS server, trusting the system roots
	// only, fails on the certificate: TLS was on.
	cfg = setEnv(t, map[string]string{"TEMPORAL_ADDRESS": tlsAddr, "TEMPORAL_API_KEY": key})
	if err := dial(t, cfg); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("API key alone against the test server: %v; want a certificate error", err)
	}
}
