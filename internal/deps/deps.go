// Package deps pins build dependencies while the tree is being laid out.
package deps

import (
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/google/cel-go/cel"
	_ "github.com/slack-go/slack"
	_ "github.com/spf13/cobra"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/server/temporal"
	_ "go.temporal.io/server/temporaltest"
	_ "gopkg.in/yaml.v3"
)
