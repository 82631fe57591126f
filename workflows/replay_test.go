package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/quenchhq/quench/internal/codec"
	"github.com/quenchhq/quench/workflows"
)

// TestReplayRecordedHistories replays histories recorded from real runs
// (internal/e2e -record-history). A change to the interpreter that would
// break incidents already running fails here with a nondeterminism error;
// put such changes behind workflow.GetVersion. A history with a .keys file
// beside it was recorded with the payload codec: it replays through the
// codec with those keys, and every payload in it must be sealed.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	encrypted := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var opts worker.WorkflowReplayerOptions
			if keys, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".keys"); err == nil {
				encrypted++
				cdc, err := codec.Parse(f, string(keys))
				if err != nil {
					t.Fatal(err)
				}
				checkSealed(t, f)
				opts.DataConverter, opts.FailureConverter = codec.DataConverter(cdc), codec.FailureConverter(cdc)
			}
			r, err := worker.NewWorkflowReplayerWithOptions(opts)
			if err != nil {
				t.Fatal(err)
			}
			r.RegisterWorkflowWithOptions(workflows.Incident, workflowRegisterOptions())
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
	if encrypted == 0 {
		t.Error("no encrypted history (with a .keys file) in testdata/histories")
	}
}

// checkSealed fails t unless every payload in the history file is sealed
// by the codec, but for search attributes, which Temporal indexes and so
// stay plaintext by design.
func checkSealed(t *testing.T, file string) {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	hist, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sealed, plain := 0, 0
	var walk func(m protoreflect.Message, inSearchAttributes bool)
	walk = func(m protoreflect.Message, inSearchAttributes bool) {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			switch {
			case inSearchAttributes:
			case string(p.GetMetadata()[converter.MetadataEncoding]) == codec.MetadataEncoding:
				sealed++
			default:
				plain++
				t.Errorf("plaintext payload (%s) in %s: %.80q", p.GetMetadata()[converter.MetadataEncoding], file, p.GetData())
			}
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			inSA := inSearchAttributes || fd.Message() != nil && fd.Message().FullName() == "temporal.api.common.v1.SearchAttributes"
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message(), inSA)
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message(), inSA)
					return true
				})
			case fd.Message() != nil:
				walk(v.Message(), inSA)
			}
			return true
		})
	}
	for _, ev := range hist.GetEvents() {
		walk(proto.Message(ev).ProtoReflect(), false)
	}
	if sealed == 0 {
		t.Errorf("%s: no sealed payload found", file)
	}
	t.Logf("%s: %d payloads sealed, %d plaintext", file, sealed, plain)
}
