package workflows_test

import (
	"go.temporal.io/sdk/workflow"

	"github.com/quenchhq/quench/workflows"
)

func workflowRegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: workflows.IncidentWorkflow}
}
