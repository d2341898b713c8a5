package lambdarun

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// EmulatorEnv names the emulator executable when set.
const EmulatorEnv = "AWS_LAMBDA_RIE"

// FindEmulator finds aws-lambda-rie: $AWS_LAMBDA_RIE, else
// <moduleDir>/.cache/bin/aws-lambda-rie (where scripts/install-rie.sh
// puts it), else the PATH.
func FindEmulator(moduleDir string) (string, error) {
	if p := os.Getenv(EmulatorEnv); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("lambdarun: %s=%s is not an executable", EmulatorEnv, p)
		}
		return p, nil
	}
	if moduleDir != "" {
		p := filepath.Join(moduleDir, ".cache", "bin", "aws-lambda-rie")
		if isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	return "", errors.New("lambdarun: aws-lambda-rie not found: run scripts/install-rie.sh (make rie), or set " + EmulatorEnv)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// ModuleDir walks up from the working directory to the directory holding
// go.mod and template.yaml.
func ModuleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		_, errMod := os.Stat(filepath.Join(dir, "go.mod"))
		_, errTpl := os.Stat(filepath.Join(dir, "template.yaml"))
		if errMod == nil && errTpl == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("lambdarun: no go.mod with a template.yaml beside it above the working directory")
		}
		dir = parent
	}
}
