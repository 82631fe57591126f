package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/searchattribute/sadefs"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/quenchhq/quench/internal/buildid"
)

const (
	// DefaultFrontendPort is the port Temporal clients and the temporal CLI expect.
	DefaultFrontendPort = 7233
	// DefaultNamespace is the namespace created when Options.Namespace is empty.
	DefaultNamespace = "default"
	// DefaultRetention keeps closed incidents 30 days (Temporal's own
	// default, 24 h, loses yesterday's incident before its review).
	DefaultRetention = 30 * 24 * time.Hour
	// MinRetention is the server's minimum for a local namespace.
	MinRetention = time.Hour
	// DBFileName is the SQLite file inside Options.DataDir.
	DBFileName = "temporal.db"

	defaultIP = "127.0.0.1"
	// The cluster name is stored in the database with the namespace: it must
	// never change between releases or existing data dirs stop working.
	clusterName = "active"
	// readyTimeout bounds the wait for the frontend when ctx has no sooner
	// deadline. A start takes about half a second on an idle machine and was
	// seen at 18 s on a heavily loaded one under -race.
	readyTimeout = 30 * time.Second
	storeName    = "sqlite-default"
	// visibilityStoreName is the visibility store of Options.SQL.
	visibilityStoreName = "visibility"
)

var (
	// ErrPortInUse is wrapped by Start when the frontend port is taken.
	ErrPortInUse = errors.New("address already in use")
	// ErrDataDirInUse is wrapped by Start when another server holds the data dir.
	ErrDataDirInUse = errors.New("data dir in use")
)

// Options configures Start. The zero value plus DataDir (or InMemory) is usable.
type Options struct {
	// DataDir holds the SQLite file DataDir/temporal.db. It is created with
	// mode 0700 if missing.
	DataDir string
	// IP the frontend binds to; default 127.0.0.1. The other services always
	// bind to 127.0.0.1.
	IP string
	// FrontendPort is the frontend's gRPC port. 0 picks a free port (tests);
	// `quench dev` passes its --temporal-port flag, which defaults to
	// DefaultFrontendPort.
	FrontendPort int
	// Namespace is created on first start; default "default".
	Namespace string
	// Retention is how long the namespace keeps closed workflows (closed
	// incidents); default DefaultRetention, at least MinRetention. An
	// existing namespace is updated to it at start.
	Retention time.Duration
	// SearchAttributes are registered on the namespace at every start; ones
	// already registered with the same type are left alone.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's own logs at Warn and above; default slog.Default().
	Logger *slog.Logger
	// InMemory keeps all state in an in-memory SQLite database (tests); DataDir must be empty.
	InMemory bool
	// Sync is the store's synchronous mode; default DefaultSync.
	Sync Sync
	// StateFiles are files the caller keeps in DataDir (the record store):
	// with one present and the database missing, Start refuses to begin
	// empty, as it does when the marker file is present.
	StateFiles []string
	// Reset moves every file of DataDir aside into DataDir/reset-<time>
	// before starting, so the server starts empty; nothing is deleted.
	// Server.MovedAside says where the files went.
	Reset bool
	// SQL runs the server on databases that already hold Temporal's
	// schemas (PostgreSQL or MySQL, as a production cluster does) instead
	// of SQLite: the tests of the production path. The caller imports the
	// database's persistence plugin. DataDir, InMemory, Reset and
	// StateFiles must be unset.
	SQL *SQLStores

	// tune changes the store's configuration; set only by this package's
	// benchmarks, to measure alternatives (pool size, rollback journal).
	tune func(*config.SQL)
}

// SQLStores are the databases of a server on an external SQL store: on
// PostgreSQL and MySQL visibility has a database (and schema) of its own.
type SQLStores struct {
	Default, Visibility *config.SQL
}

// Server is a running embedded Temporal server.
type Server struct {
	srv       temporal.Server
	address   string
	namespace string
	dbPath    string
	// movedAside is where Options.Reset put the old files.
	movedAside string

	stopping *atomic.Bool // mutes the server's logs once Stop begins
	unlock   func()       // releases the data dir
	stopOnce sync.Once
	stopErr  error
}

// Start checks the store, starts the server and returns once its frontend
// answers a DescribeNamespace call and the search attributes are
// registered. An existing database that fails SQLite's quick_check, or a
// data dir whose database went missing, is refused (ErrStoreDamaged,
// ErrStoreMissing) with what was found and how to recover.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	// Before any worker exists: the server's system workers are the first
	// in this process to ask the SDK for the binary's checksum.
	buildid.Install()
	stopping := &atomic.Bool{}
	logger := serverLogger{l: opts.Logger, min: slog.LevelWarn, ctx: context.WithoutCancel(ctx), mute: stopping}

	// Ports first: a taken port should fail before anything touches the disk.
	ports, err := pickPorts(opts)
	if err != nil {
		return nil, err
	}
	st, err := prepareStore(ctx, opts)
	if err != nil {
		return nil, err
	}
	sqlConf, dbPath := st.conf, st.path
	s := &Server{namespace: opts.Namespace, dbPath: dbPath, movedAside: st.movedAside, stopping: stopping, unlock: st.unlock}
	defer func() {
		if s.srv == nil { // failed before the server existed
			st.unlock()
		}
	}()
	conf := buildConfig(opts, ports, sqlConf, st.visibility)

	// Creating the namespace with its search attributes directly in the store
	// makes them usable at once on a fresh data dir. On an existing one this is
	// a no-op and registerSearchAttributes adds whatever is new.
	nsConf, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("configure namespace %s: %w", opts.Namespace, err)
	}
	nsConf.Detail.Config.Retention = durationpb.New(opts.Retention)
	if err := sqliteschema.CreateNamespaces(sqlConf, nsConf); err != nil {
		return nil, fmt.Errorf("create namespace %s in %s: %w", opts.Namespace, dbPath, err)
	}

	frontend := conf.PublicClient.HostPort
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(staticHosts(conf, frontend)),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// The default of 10 visibility calls per second is too low for a
			// CLI that lists incidents while tests poll.
			dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
			// Each history shard reads its task queues at most 20 times a
			// second by default: fine for a cluster of hundreds of shards,
			// a ceiling for this one-shard server, where every workflow
			// task after an activity waits for the next read. Measured with
			// quench bench (2 cores): a 20-step runbook run back to back
			// 1,036 → 314 ms, alert → first step done p50 88 → 39 ms.
			dynamicconfig.TransferProcessorMaxPollRPS.Key():   10000,
			dynamicconfig.TimerProcessorMaxPollRPS.Key():      10000,
			dynamicconfig.VisibilityProcessorMaxPollRPS.Key(): 10000,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server on %s: %w", frontend, err)
	}
	s.srv, s.address = srv, frontend
	if err := srv.Start(); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("start temporal server on %s: %w", frontend, err)
	}

	if err := s.awaitReady(ctx, opts); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// FrontendAddress is the host:port clients dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.address }

// Namespace is the namespace created at start.
func (s *Server) Namespace() string { return s.namespace }

// MovedAside is the dir Options.Reset moved the old files into, or "" when
// there was no reset or nothing to move.
func (s *Server) MovedAside() string { return s.movedAside }

// Stop stops all services gracefully. Calling it again returns the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		// Every in-flight long poll fails with "context canceled" at Error
		// level while the services shut down: expected, and only alarming.
		s.stopping.Store(true)
		if err := s.srv.Stop(); err != nil {
			s.stopErr = fmt.Errorf("stop temporal server on %s: %w", s.address, err)
		}
		s.unlock()
	})
	return s.stopErr
}

func (o *Options) validate() error {
	if o.IP == "" {
		o.IP = defaultIP
	}
	if net.ParseIP(o.IP) == nil {
		return fmt.Errorf("temporal server ip %q is not an IP address", o.IP)
	}
	if o.FrontendPort < 0 || o.FrontendPort > 65535 {
		return fmt.Errorf("temporal frontend port %d is out of range 0-65535", o.FrontendPort)
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Retention < MinRetention {
		return fmt.Errorf("namespace retention %s is below Temporal's minimum of %s", o.Retention, MinRetention)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Sync == "" {
		o.Sync = DefaultSync
	}
	if !slices.Contains(Syncs, o.Sync) {
		return fmt.Errorf("sqlite sync mode %q: want one of %v", o.Sync, Syncs)
	}
	if o.SQL != nil {
		switch {
		case o.SQL.Default == nil || o.SQL.Visibility == nil:
			return errors.New("external sql store: both the default and the visibility database are required")
		case o.InMemory || o.DataDir != "" || o.Reset || len(o.StateFiles) > 0:
			return errors.New("external sql store given with a data dir, in-memory, reset or state files: those are for sqlite")
		}
		return o.validateSearchAttributes()
	}
	switch {
	case o.InMemory && o.Reset:
		return errors.New("reset of an in-memory temporal server: there is nothing to reset")
	case o.InMemory && o.DataDir != "":
		return fmt.Errorf("temporal data dir %s given for an in-memory server", o.DataDir)
	case !o.InMemory && o.DataDir == "":
		return errors.New("temporal data dir is required unless the server is in memory")
	case strings.ContainsAny(o.DataDir, "?#%"):
		// The path goes into a SQLite "file:" URI, where these are syntax.
		return fmt.Errorf("temporal data dir %q must not contain '?', '#' or '%%'", o.DataDir)
	}
	return o.validateSearchAttributes()
}

func (o *Options) validateSearchAttributes() error {
	for _, name := range slices.Sorted(maps.Keys(o.SearchAttributes)) {
		typ := o.SearchAttributes[name]
		if name == "" || sadefs.IsReserved(name) {
			return fmt.Errorf("search attribute name %q is empty or reserved by temporal", name)
		}
		if _, ok := enumspb.IndexedValueType_name[int32(typ)]; !ok || typ == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return fmt.Errorf("search attribute %s has invalid type %d", name, typ)
		}
	}
	return nil
}

// ports are the listening ports of one server run.
type ports struct {
	frontend, frontendHTTP int
	// internal holds the gRPC ports of history, matching and worker.
	internal map[primitives.ServiceName]int
}

var internalServices = []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService}

func pickPorts(opts Options) (ports, error) {
	p := ports{frontend: opts.FrontendPort, internal: map[primitives.ServiceName]int{}}
	var err error
	if p.frontend == 0 {
		p.frontend, err = freePort(opts.IP)
	} else {
		err = checkPortFree(opts.IP, p.frontend)
	}
	if err != nil {
		return p, err
	}
	// The frontend's HTTP API serves Nexus and the UI; without it the
	// server warns at every start.
	if p.frontendHTTP, err = freePort(opts.IP); err != nil {
		return p, err
	}
	// History, matching and the internal worker only talk to each other.
	for _, svc := range internalServices {
		if p.internal[svc], err = freePort(defaultIP); err != nil {
			return p, err
		}
	}
	return p, nil
}

// buildConfig keeps visibility in the default store unless visibility is set.
func buildConfig(opts Options, ports ports, sqlConf, visibility *config.SQL) *config.Config {
	port := ports.frontend
	// Clients inside this process reach a wildcard-bound frontend on loopback.
	dialIP := opts.IP
	if net.ParseIP(dialIP).IsUnspecified() {
		dialIP = defaultIP
	}
	frontend := net.JoinHostPort(dialIP, strconv.Itoa(port))

	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = dialIP
	conf.Persistence = config.Persistence{
		DefaultStore:     storeName,
		VisibilityStore:  storeName,
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{storeName: {SQL: sqlConf}},
	}
	if visibility != nil {
		conf.Persistence.VisibilityStore = visibilityStoreName
		conf.Persistence.DataStores[visibilityStoreName] = config.DataStore{SQL: visibility}
	}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            net.JoinHostPort(dialIP, strconv.Itoa(ports.frontendHTTP)),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: port, HTTPPort: ports.frontendHTTP, BindOnIP: opts.IP}},
	}
	for _, svc := range internalServices {
		conf.Services[string(svc)] = config.Service{RPC: config.RPC{GRPCPort: ports.internal[svc], BindOnIP: defaultIP}}
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return conf
}

func staticHosts(conf *config.Config, frontend string) map[primitives.ServiceName]static.Hosts {
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(frontend),
	}
	for _, svc := range internalServices {
		port := conf.Services[string(svc)].RPC.GRPCPort
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(defaultIP, strconv.Itoa(port)))
	}
	return hosts
}

// checkPortFree fails early with an error a user can act on; the server
// itself would report a taken port deep inside its fx start-up.
func checkPortFree(ip string, port int) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("temporal frontend port %d on %s is in use (another quench dev or temporal server?); choose another with --temporal-port: %w", port, ip, ErrPortInUse)
	}
	if err != nil {
		return fmt.Errorf("listen on temporal frontend address %s: %w", addr, err)
	}
	return l.Close()
}

// freePort asks the kernel for an unused port on ip. A connection closed from
// the listening side leaves the port in TIME_WAIT, so Linux will not hand it
// out again to another bind(:0) for a while, yet the server can still bind it
// (Go sets SO_REUSEADDR).
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	addr := l.Addr().(*net.TCPAddr)
	dialAddr := &net.TCPAddr{IP: addr.IP, Port: addr.Port}
	if addr.IP.IsUnspecified() {
		dialAddr.IP = net.ParseIP(defaultIP)
	}
	c, err := net.DialTCP("tcp", nil, dialAddr)
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer c.Close()
	accepted, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	_ = accepted.Close()
	return addr.Port, nil
}

// awaitReady probes the frontend with real calls until it serves the
// namespace, then registers the search attributes.
func (s *Server) awaitReady(ctx context.Context, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()

	var c client.Client
	var lastErr error
	for c == nil {
		attemptCtx, attemptCancel := context.WithTimeout(ctx, 2*time.Second)
		cl, err := client.DialContext(attemptCtx, client.Options{
			HostPort:  s.address,
			Namespace: s.namespace,
			Identity:  "quench-devserver",
			Logger:    sdklog.NewStructuredLogger(slog.New(warnOnly{opts.Logger.Handler()})),
		})
		if err == nil {
			_, err = cl.WorkflowService().DescribeNamespace(attemptCtx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
			if err != nil {
				cl.Close()
			} else {
				c = cl
			}
		}
		attemptCancel()
		if err != nil {
			lastErr = err
			select {
			case <-ctx.Done():
				return fmt.Errorf("temporal frontend %s not ready (namespace %s): %w (last error: %v)", s.address, s.namespace, ctx.Err(), lastErr)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	defer c.Close()
	if err := applyRetention(ctx, c.WorkflowService(), s.namespace, opts.Retention); err != nil {
		return err
	}
	return registerSearchAttributes(ctx, c.OperatorService(), c.WorkflowService(), s.namespace, s.dbPath, opts.SearchAttributes)
}

// applyRetention sets the retention of a namespace that exists from an
// earlier start with another (CreateNamespaces leaves it alone).
func applyRetention(ctx context.Context, wf workflowservice.WorkflowServiceClient, namespace string, want time.Duration) error {
	resp, err := wf.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	if resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() == want {
		return nil
	}
	_, err = wf.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: namespace,
		// Only the retention is set: the server leaves the rest as it is.
		Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(want)},
	})
	if err != nil {
		return fmt.Errorf("set retention of namespace %s to %s: %w", namespace, want, err)
	}
	return nil
}

// registerSearchAttributes adds the attributes the namespace lacks and waits
// until the server reports them. One registered with another type is an
// error: SQLite visibility cannot change the type of a stored column.
func registerSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, wf workflowservice.WorkflowServiceClient, namespace, dbPath string, want map[string]enumspb.IndexedValueType) error {
	if len(want) == 0 {
		return nil
	}
	missing := func() (map[string]enumspb.IndexedValueType, error) {
		resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		if err != nil {
			return nil, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
		}
		out := map[string]enumspb.IndexedValueType{}
		for name, typ := range want {
			got, ok := resp.GetCustomAttributes()[name]
			switch {
			case !ok:
				out[name] = typ
			case got != typ:
				return nil, fmt.Errorf("search attribute %s of namespace %s is %s in %s, want %s (remove the data dir to start afresh)", name, namespace, got, dbPath, typ)
			}
		}
		return out, nil
	}

	todo, err := missing()
	if err != nil || len(todo) == 0 {
		return err
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: todo})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes %v to namespace %s: %w", slices.Sorted(maps.Keys(todo)), namespace, err)
	}
	// The store has them once ListSearchAttributes lists them, but the
	// frontend resolves names in queries through its namespace cache, which
	// refreshes every 2 s: until then a query naming a new attribute fails
	// with "invalid search attribute". Ready means usable, so wait for the
	// frontend to accept a query on each.
	added := slices.Sorted(maps.Keys(todo))
	for _, name := range added {
		query := fmt.Sprintf("%s = ''", name)
		for {
			_, err := wf.CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
			var invalid *serviceerror.InvalidArgument
			if err == nil {
				break
			}
			if !errors.As(err, &invalid) {
				return fmt.Errorf("query new search attribute %s of namespace %s: %w", name, namespace, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("search attributes %v of namespace %s not usable in queries: %w (last: %v)", added, namespace, ctx.Err(), err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// warnOnly passes Warn and above: the SDK client used for the readiness
// probe logs its connection chatter at Info.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}

func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }
