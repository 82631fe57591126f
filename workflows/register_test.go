package workflows_test

import (
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/workflows/contract"
)

func workflowRegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: contract.IncidentWorkflow}
}
