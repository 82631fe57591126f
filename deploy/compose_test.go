// Package deploy_test checks the production deployment files without a
// Docker engine: docker-compose.yaml is loaded with compose-go (the library
// `docker compose` itself uses), and the Dockerfile and .dockerignore are
// read as text.
package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.temporal.io/server/common/dynamicconfig"
	serverschema "go.temporal.io/server/schema"

	"github.com/quenchhq/quench/workflows/contract"
)

const composeFile = "docker-compose.yaml"

// repoRoot is where docker-compose.yaml and the Dockerfile live.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// secretsDir makes a directory laid out as deploy/README.md says, with
// quench.env holding a webhook token.
func secretsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"quench.env":           "QUENCH_ALERTMANAGER_TOKEN=token-from-env-file\n",
		"slack_bot_token":      "xoxb-test\n",
		"slack_signing_secret": "signing-test\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func load(t *testing.T, env map[string]string, opts ...func(*loader.Options)) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	details := types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, composeFile)}},
		Environment: env,
	}
	opts = append([]func(*loader.Options){func(o *loader.Options) { o.ResolvePaths = true }}, opts...)
	return loader.LoadWithContext(context.Background(), details, opts...)
}

// loadValid loads the file as an operator would run it: POSTGRES_PASSWORD
// set and the secrets directory in place.
func loadValid(t *testing.T) *types.Project {
	t.Helper()
	p, err := load(t, map[string]string{"POSTGRES_PASSWORD": "pw-from-dotenv", "QUENCH_SECRETS_DIR": secretsDir(t)})
	if err != nil {
		t.Fatalf("load %s: %v", composeFile, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("%s has no service %q (has %v)", composeFile, name, slices.Sorted(maps.Keys(p.Services)))
	}
	return s
}

func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

func TestComposeHasTheProductionServices(t *testing.T) {
	p := loadValid(t)
	for _, name := range []string{"postgres", "temporal-schema", "temporal", "temporal-admin-tools", "temporal-ui", "quench-worker", "quench-serve"} {
		service(t, p, name)
	}
}

func TestQuenchServicesBuildThisRepoAndRunTheRightCommand(t *testing.T) {
	p := loadValid(t)
	root := repoRoot(t)
	for name, want := range map[string][]string{
		"quench-worker": {"worker"},
		"quench-serve":  {"serve", "--listen", ":8080"},
	} {
		s := service(t, p, name)
		if s.Build == nil {
			t.Errorf("%s: no build section; it must build from the repo Dockerfile", name)
			continue
		}
		if s.Build.Context != root {
			t.Errorf("%s: build context %q, want the repository root %q", name, s.Build.Context, root)
		}
		if df := s.Build.Dockerfile; df != "Dockerfile" && df != filepath.Join(root, "Dockerfile") {
			t.Errorf("%s: dockerfile %q, want the repo Dockerfile", name, df)
		}
		if !slices.Equal(s.Command, want) {
			t.Errorf("%s: command %q, want %q", name, s.Command, want)
		}
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s: restart %q, want %q", name, s.Restart, types.RestartPolicyUnlessStopped)
		}
		if !s.ReadOnly {
			t.Errorf("%s: root filesystem should be read-only", name)
		}
		// They find runbooks (and serve the routes file) in the mounted config dir.
		if env(s, "QUENCH_RUNBOOKS") == "" {
			t.Errorf("%s: QUENCH_RUNBOOKS not set", name)
		}
		mounted := false
		for _, v := range s.Volumes {
			if v.Target == env(s, "QUENCH_RUNBOOKS") && v.ReadOnly {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("%s: QUENCH_RUNBOOKS=%s is not a read-only mount", name, env(s, "QUENCH_RUNBOOKS"))
		}
	}
	serve := service(t, p, "quench-serve")
	if routes := env(serve, "QUENCH_ROUTES"); !strings.HasPrefix(routes, env(serve, "QUENCH_RUNBOOKS")+"/") {
		t.Errorf("quench-serve: QUENCH_ROUTES=%q is not inside the mounted config dir", routes)
	}
	if !publishes(serve, "", "8080", 8080) {
		t.Errorf("quench-serve: port 8080 not published as 8080:8080 (ports %+v)", serve.Ports)
	}
	if serve.HealthCheck == nil || !slices.ContainsFunc(serve.HealthCheck.Test, func(s string) bool { return strings.HasSuffix(s, ":8080/healthz") }) {
		t.Errorf("quench-serve: no healthcheck on /healthz (%+v)", serve.HealthCheck)
	}
}

func publishes(s types.ServiceConfig, hostIP, published string, target uint32) bool {
	return slices.ContainsFunc(s.Ports, func(p types.ServicePortConfig) bool {
		return p.HostIP == hostIP && p.Published == published && p.Target == target
	})
}

func TestTemporalAddressesPointAtTheTemporalService(t *testing.T) {
	p := loadValid(t)
	for _, name := range []string{"quench-worker", "quench-serve", "temporal-ui", "temporal-admin-tools"} {
		s := service(t, p, name)
		addr := env(s, "TEMPORAL_ADDRESS")
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("%s: TEMPORAL_ADDRESS %q: %v", name, addr, err)
			continue
		}
		if host != "temporal" || port != "7233" {
			t.Errorf("%s: TEMPORAL_ADDRESS %q, want the temporal service's frontend temporal:7233", name, addr)
		}
		if _, ok := s.DependsOn["temporal"]; !ok {
			t.Errorf("%s: does not depend on temporal", name)
		}
	}
	// Worker and serve must agree on the namespace and task queue, or alerts
	// start incidents no worker polls for.
	w, sv := service(t, p, "quench-worker"), service(t, p, "quench-serve")
	for _, key := range []string{"TEMPORAL_NAMESPACE", "QUENCH_TASK_QUEUE"} {
		if env(w, key) != env(sv, key) {
			t.Errorf("%s differs: worker %q, serve %q", key, env(w, key), env(sv, key))
		}
	}
	if got := env(w, "QUENCH_TASK_QUEUE"); got != contract.DefaultTaskQueue {
		t.Errorf("default QUENCH_TASK_QUEUE %q, want contract.DefaultTaskQueue %q", got, contract.DefaultTaskQueue)
	}
	if got := env(service(t, p, "temporal-admin-tools"), "QUENCH_NAMESPACE"); got != env(w, "TEMPORAL_NAMESPACE") {
		t.Errorf("search attributes are registered in namespace %q, but the worker uses %q", got, env(w, "TEMPORAL_NAMESPACE"))
	}
}

func TestStartupOrderWaitsForHealthAndSetup(t *testing.T) {
	p := loadValid(t)
	temporal := service(t, p, "temporal")
	if d, ok := temporal.DependsOn["postgres"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("temporal must depend on postgres with condition %s, got %+v", types.ServiceConditionHealthy, temporal.DependsOn)
	}
	if d := temporal.DependsOn["temporal-schema"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("temporal must wait for temporal-schema to complete, got %+v", temporal.DependsOn)
	}
	for _, name := range []string{"quench-worker", "quench-serve"} {
		if d := service(t, p, name).DependsOn["temporal"]; d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s must wait for temporal to be healthy, got %+v", name, d)
		}
		if d := service(t, p, name).DependsOn["temporal-admin-tools"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s must wait for the search attributes (temporal-admin-tools completed), got %+v", name, d)
		}
	}
	// Every wait must be satisfiable: a service waited on as healthy has a
	// healthcheck, and one waited on to complete is a one-shot job.
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			target := service(t, p, dep)
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if target.Restart == types.RestartPolicyAlways || target.Restart == types.RestartPolicyUnlessStopped {
					t.Errorf("%s waits for %s to complete, but %s restarts %q", name, dep, dep, target.Restart)
				}
			}
		}
	}
}

func TestSearchAttributesAreRegistered(t *testing.T) {
	p := loadValid(t)
	script := strings.Join(service(t, p, "temporal-admin-tools").Command, "\n")
	if !strings.Contains(script, "temporal operator search-attribute create") {
		t.Fatalf("temporal-admin-tools does not create search attributes:\n%s", script)
	}
	for _, name := range contract.SearchAttributes {
		if !regexp.MustCompile(`--name\s+` + name + `\s+--type\s+Keyword\b`).MatchString(script) {
			t.Errorf("search attribute %s (Keyword) is not registered by temporal-admin-tools", name)
		}
	}
	if !strings.Contains(script, "namespace create") {
		t.Errorf("temporal-admin-tools does not create the namespace")
	}
}

// The schema job must apply schemas the pinned server ships, to the
// databases the server reads by default.
func TestSchemaJobUsesTheServersSchemas(t *testing.T) {
	p := loadValid(t)
	script := strings.Join(service(t, p, "temporal-schema").Command, "\n")
	names := regexp.MustCompile(`--schema-name\s+(\S+)`).FindAllStringSubmatch(script, -1)
	if len(names) != 2 {
		t.Fatalf("want two update-schema steps (temporal, visibility), got %d in:\n%s", len(names), script)
	}
	for _, m := range names {
		if _, err := serverschema.Assets().Open(path.Join(m[1], "schema.sql")); err != nil {
			t.Errorf("schema %q is not one go.temporal.io/server ships: %v", m[1], err)
		}
	}
	var dbs []string
	for _, m := range regexp.MustCompile(`--db\s+(\S+)\s+create-database`).FindAllStringSubmatch(script, -1) {
		dbs = append(dbs, m[1])
	}
	// DBNAME and VISIBILITY_DBNAME default to these in the server's config template.
	if want := []string{"temporal", "temporal_visibility"}; !slices.Equal(dbs, want) {
		t.Errorf("databases created %v, want %v", dbs, want)
	}
	if got := env(service(t, p, "temporal"), "DB"); got != "postgres12" {
		t.Errorf("temporal DB=%q, want postgres12", got)
	}
	if got := env(service(t, p, "temporal-schema"), "SQL_PLUGIN"); got != "postgres12" {
		t.Errorf("temporal-schema SQL_PLUGIN=%q, want postgres12", got)
	}
}

// Temporal images must be the release quench is built and tested against.
func TestTemporalImagesMatchTheServerModule(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*go\.temporal\.io/server v(\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require go.temporal.io/server")
	}
	version := string(m[1])
	p := loadValid(t)
	for _, name := range []string{"temporal", "temporal-schema", "temporal-admin-tools"} {
		img := service(t, p, name).Image
		repo, tag, _ := strings.Cut(img, ":")
		if !strings.HasPrefix(repo, "temporalio/") || tag != version {
			t.Errorf("%s: image %q, want temporalio/...:%s (go.mod pins go.temporal.io/server v%s)", name, img, version, version)
		}
	}
	for name, s := range p.Services {
		if s.Build != nil {
			continue
		}
		if _, tag, ok := strings.Cut(s.Image, ":"); !ok || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a tag", name, s.Image)
		}
	}
}

func TestTemporalDynamicConfigIsValid(t *testing.T) {
	p := loadValid(t)
	temporal := service(t, p, "temporal")
	file := env(temporal, "DYNAMIC_CONFIG_FILE_PATH")
	var content string
	for _, c := range temporal.Configs {
		if c.Target == file {
			content = p.Configs[c.Source].Content
		}
	}
	if content == "" {
		t.Fatalf("DYNAMIC_CONFIG_FILE_PATH=%q is not a mounted config with content", file)
	}
	lr := dynamicconfig.LoadYamlFile([]byte(content))
	if err := lr.Err(); err != nil {
		t.Errorf("dynamic config: %v", err)
	}
	for _, w := range lr.Warnings {
		t.Errorf("dynamic config: %v", w)
	}
}

func TestLoopbackOnlyForUnauthenticatedPorts(t *testing.T) {
	p := loadValid(t)
	if ports := service(t, p, "postgres").Ports; len(ports) != 0 {
		t.Errorf("postgres publishes %+v; only Temporal needs it", ports)
	}
	if !publishes(service(t, p, "temporal-ui"), "127.0.0.1", "8233", 8080) {
		t.Errorf("temporal-ui: want 127.0.0.1:8233:8080, got %+v", service(t, p, "temporal-ui").Ports)
	}
	for _, port := range service(t, p, "temporal").Ports {
		if port.HostIP != "127.0.0.1" {
			t.Errorf("temporal frontend published on %q (%+v); it has no authentication", port.HostIP, port)
		}
	}
}

// Workers serve /metrics only when told where (two on one host would
// fight over a default port); serve has it on its HTTP address.
func TestWorkersServeMetricsInsideTheComposeNetwork(t *testing.T) {
	p := loadValid(t)
	w := service(t, p, "quench-worker")
	if v := env(w, "QUENCH_METRICS_LISTEN"); v != ":9090" {
		t.Errorf("quench-worker QUENCH_METRICS_LISTEN = %q, want \":9090\"", v)
	}
	if len(w.Ports) != 0 {
		t.Errorf("quench-worker publishes %+v; /metrics has no authentication", w.Ports)
	}
}

func TestSlackSecretsAreMountedAndNamedByFileVariables(t *testing.T) {
	p := loadValid(t)
	want := map[string][]string{
		"quench-worker": {"SLACK_BOT_TOKEN_FILE"},
		"quench-serve":  {"SLACK_BOT_TOKEN_FILE", "SLACK_SIGNING_SECRET_FILE"},
	}
	for name, vars := range want {
		s := service(t, p, name)
		for _, v := range vars {
			file := env(s, v)
			if !slices.ContainsFunc(s.Secrets, func(sec types.ServiceSecretConfig) bool {
				target := sec.Target
				if target == "" {
					target = "/run/secrets/" + sec.Source
				}
				return target == file
			}) {
				t.Errorf("%s: %s=%q is not a mounted secret (secrets %+v)", name, v, file, s.Secrets)
			}
			if _, plain := s.Environment[strings.TrimSuffix(v, "_FILE")]; plain && file != "" {
				t.Errorf("%s: both %s and %s are set; quench refuses that", name, v, strings.TrimSuffix(v, "_FILE"))
			}
		}
	}
	for name, sec := range p.Secrets {
		if sec.File == "" {
			t.Errorf("secret %s is not read from a file", name)
		}
	}
	// Webhook tokens reach serve from the env file, not from this file.
	if got := env(service(t, p, "quench-serve"), "QUENCH_ALERTMANAGER_TOKEN"); got != "token-from-env-file" {
		t.Errorf("quench-serve: QUENCH_ALERTMANAGER_TOKEN from quench.env = %q", got)
	}
}

var secretName = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PWD|_KEY)$`)

// Values of secret-looking variables must come from outside the file:
// interpolated from .env, passed through from the host, or an env file.
func TestNoSecretValueIsHardCoded(t *testing.T) {
	const marker = "\x00interpolated:"
	var seen []string
	p, err := load(t, nil, func(o *loader.Options) {
		o.SkipResolveEnvironment = true // keep env_file and pass-through entries unresolved
		o.Interpolate.LookupValue = func(key string) (string, bool) {
			seen = append(seen, key)
			return marker + key, true
		}
	})
	if err != nil {
		t.Fatalf("load %s: %v", composeFile, err)
	}
	for name, s := range p.Services {
		for key, val := range s.Environment {
			if !secretName.MatchString(key) || val == nil {
				continue
			}
			if !strings.HasPrefix(*val, marker) {
				t.Errorf("%s: %s is set to a literal value in %s; take it from .env, a secret or an env file", name, key, composeFile)
			}
		}
	}
	// Every variable the file reads is documented for operators.
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	for _, key := range slices.Compact(seen) {
		if !strings.Contains(string(readme), key) {
			t.Errorf("%s reads ${%s}, which deploy/README.md does not mention", composeFile, key)
		}
	}
}

func TestComposeRefusesToStartWithoutItsSecrets(t *testing.T) {
	_, err := load(t, map[string]string{"QUENCH_SECRETS_DIR": secretsDir(t)})
	if err == nil || !strings.Contains(err.Error(), "POSTGRES_PASSWORD") {
		t.Errorf("without POSTGRES_PASSWORD: err = %v, want one naming POSTGRES_PASSWORD", err)
	}
	_, err = load(t, map[string]string{"POSTGRES_PASSWORD": "pw", "QUENCH_SECRETS_DIR": t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "quench.env") {
		t.Errorf("without secrets/quench.env: err = %v, want one naming quench.env", err)
	}
}

// dockerfile is the Dockerfile as instructions, continuation lines joined.
type instruction struct{ cmd, args string }

func readDockerfile(t *testing.T) [][]instruction {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages [][]instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

func TestDockerfileBuildsTheCLIStatically(t *testing.T) {
	stages := readDockerfile(t)
	var build string
	for _, st := range stages {
		for _, in := range st {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				build = in.args
			}
		}
	}
	if build == "" {
		t.Fatal("Dockerfile has no RUN go build")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-o /out/quench"} {
		if !strings.Contains(build, want) {
			t.Errorf("go build step lacks %q: %s", want, build)
		}
	}
	m := regexp.MustCompile(`\s(\./\S+)\s*$`).FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("go build step names no package path: %s", build)
	}
	src, err := os.ReadFile(filepath.Join(repoRoot(t), m[1], "main.go"))
	if err != nil {
		t.Fatalf("go build builds %s: %v", m[1], err)
	}
	if !regexp.MustCompile(`(?m)^package main$`).Match(src) {
		t.Errorf("%s/main.go is not package main", m[1])
	}
}

func TestDockerfileFinalStageRunsAsNonRoot(t *testing.T) {
	stages := readDockerfile(t)
	final := stages[len(stages)-1]
	if from := final[0].args; strings.HasPrefix(from, "golang") {
		t.Errorf("final stage is the Go toolchain image %q", from)
	}
	var user, entrypoint string
	copied := false
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			copied = copied || regexp.MustCompile(`--from=\S+\s+/out/quench\s+/quench$`).MatchString(in.args)
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "root" || strings.TrimLeft(uid, "0") == "" {
		t.Errorf("final stage runs as %q; want a non-root USER as its last", user)
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || !slices.Equal(ep, []string{"/quench"}) {
		t.Errorf(`ENTRYPOINT %s, want ["/quench"] (exec form)`, entrypoint)
	}
	if !copied {
		t.Errorf("final stage does not COPY the built /out/quench to /quench")
	}
	// quench-serve's healthcheck runs wget inside this image: busybox has it.
	if !strings.HasPrefix(final[0].args, "alpine:") {
		t.Errorf("final stage %q: the compose healthcheck needs busybox wget (alpine)", final[0].args)
	}
}

func TestDockerignoreKeepsSecretsAndStateOut(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	// Docker matches patterns against paths from the context root (with **
	// for any depth); a path is also out when a parent directory matches.
	var res []*regexp.Regexp
	for _, pat := range patterns {
		re := regexp.QuoteMeta(strings.TrimPrefix(pat, "/"))
		re = strings.NewReplacer(`\*\*/`, `(.*/)?`, `\*\*`, `.*`, `\*`, `[^/]*`, `\?`, `[^/]`).Replace(re)
		res = append(res, regexp.MustCompile(`^`+re+`(/.*)?$`))
	}
	ignored := func(p string) bool {
		return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(p) })
	}
	for _, p := range []string{".git/config", ".quench/dev.db", "quench.test", "workflows/workflows.test", "secrets/slack_bot_token", "secrets/quench.env", ".env", "prod.env"} {
		if !ignored(p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd/quench/main.go", "Dockerfile"} {
		if ignored(p) {
			t.Errorf(".dockerignore leaves %s out, which the build needs", p)
		}
	}
}
