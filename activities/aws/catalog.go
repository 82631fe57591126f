package aws

import (
	"slices"

	"github.com/quenchhq/quench/activities/action"
)

// Actions returns every AWS action acting through p.
func Actions(p *Provider) []action.Action {
	return slices.Concat(
		NewIAMActions(p).Actions(),
		NewLambdaActions(p).Actions(),
		NewAPIGatewayActions(p).Actions(),
		NewSSMActions(p).Actions(),
		NewBedrockActions(p).Actions(),
		NewCloudWatchActions(p).Actions(),
		NewS3Actions(p).Actions(),
		NewCloudTrailActions(p).Actions(),
		NewRecoveryActions(p).Actions(),
	)
}
