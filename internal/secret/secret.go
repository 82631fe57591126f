// Package secret reads a secret from an environment variable or from the
// file its _FILE variable names (for secrets an orchestrator mounts).
package secret

import (
	"fmt"
	"os"
	"strings"
)

// FromEnv reads env, or the file env_FILE names; setting both is an error,
// as is an unreadable or empty file. Unset, it returns "". source says
// where the value came from, for messages; the content is never echoed.
func FromEnv(env string) (val, source string, err error) {
	val, file := strings.TrimSpace(os.Getenv(env)), os.Getenv(env+"_FILE")
	switch {
	case val != "" && file != "":
		return "", "", fmt.Errorf("both %s and %s_FILE are set; set one", env, env)
	case file != "":
		raw, err := os.ReadFile(file)
		if err != nil {
			// The path is not secret; the content is never echoed.
			return "", "", fmt.Errorf("read %s_FILE %s: %w", env, file, err)
		}
		if val = strings.TrimSpace(string(raw)); val == "" {
			return "", "", fmt.Errorf("%s_FILE %s is empty", env, file)
		}
		return val, env + "_FILE " + file, nil
	}
	return val, env, nil
}
