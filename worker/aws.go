package worker

import "github.com/quenchhq/quench/activities"

// awsActions lists the AWS containment and evidence actions.
func awsActions(p *activities.AWSProvider) []activities.Action {
	return nil
}
