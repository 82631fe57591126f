package incidents

import (
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/workflows/contract"
)

// A new incident's search attributes go on its start request
// (contract.CurrentRevision), in the two shapes the two start calls take.
// They are encoded with the default converter, never the codec: the
// server must read them to index them.

// startSearchAttributes is the typed form, for ExecuteWorkflow.
func startSearchAttributes(in contract.IncidentInput) temporal.SearchAttributes {
	var updates []temporal.SearchAttributeUpdate
	for name, value := range in.StartSearchAttributes() {
		updates = append(updates, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(value))
	}
	return temporal.NewSearchAttributes(updates...)
}

// searchAttributePayloads is the wire form, for the raw
// SignalWithStartWorkflowExecution request.
func searchAttributePayloads(in contract.IncidentInput) (*commonpb.SearchAttributes, error) {
	fields := map[string]*commonpb.Payload{}
	for name, value := range in.StartSearchAttributes() {
		p, err := converter.GetDefaultDataConverter().ToPayload(value)
		if err != nil {
			return nil, fmt.Errorf("encode search attribute %s: %w", name, err)
		}
		p.Metadata["type"] = []byte("Keyword")
		fields[name] = p
	}
	return &commonpb.SearchAttributes{IndexedFields: fields}, nil
}
