package worker

import "github.com/quenchhq/quench/activities"

// awsActions lists the AWS containment and evidence actions (and their undo
// actions), so BuildRegistry can wrap them before registering.
func awsActions(p *activities.AWSProvider) []activities.Action {
	tmp := activities.NewRegistry()
	activities.RegisterAWSCommon(tmp, p)
	activities.RegisterBedrockActions(tmp, p)
	activities.RegisterCloudWatchActions(tmp, p)
	var out []activities.Action
	for _, spec := range tmp.Specs() {
		a, _ := tmp.Lookup(spec.Name)
		out = append(out, a)
	}
	return out
}
