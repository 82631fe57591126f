package incidents

import (
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
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

// searchAttributeHint adds what to do to a start refused because the
// namespace lacks quench's search attributes; other errors pass unchanged.
func (c *Client) searchAttributeHint(err error) error {
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) && strings.Contains(invalid.Error(), "search attribute") {
		return fmt.Errorf("%w (register quench's search attributes %s as Keyword in namespace %s, e.g. temporal operator search-attribute create --namespace %s --name %s --type Keyword; see deploy/README.md)",
			err, strings.Join(contract.SearchAttributes, ", "), c.namespace, c.namespace, contract.SearchAttrRunbook)
	}
	return err
}
