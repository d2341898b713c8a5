package lambdarun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// BuildFlags are the flags every bootstrap is built with, here and in
// `make build`: no RPC mode in aws-lambda-go (provided.al2023 talks the
// Runtime API), reproducible paths, no symbol table or DWARF.
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// Build compiles each package (name → import path such as
// "./functions/callback", relative to moduleDir) into
// outDir/<name>/bootstrap for linux/goarch with CGO_ENABLED=0 and
// BuildFlags, and answers name → bootstrap path. goarch "" is this
// machine's. Packages whose directories have distinct names are built by
// one `go build`, sharing its work.
func Build(ctx context.Context, moduleDir, outDir, goarch string, packages map[string]string) (map[string]string, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	if len(packages) == 0 {
		return nil, errors.New("lambdarun: nothing to build")
	}
	outDir, err := filepath.Abs(outDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(outDir, ".build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)

	// go build -o dir/ names each executable after its package's directory.
	byBase := map[string]string{}
	var pkgs []string
	unique := true
	for name, pkg := range packages {
		base := path.Base(filepath.ToSlash(pkg))
		if _, dup := byBase[base]; dup {
			unique = false
		}
		byBase[base] = name
		pkgs = append(pkgs, pkg)
	}
	out := map[string]string{}
	if unique {
		if err := goBuild(ctx, moduleDir, goarch, stage+string(filepath.Separator), pkgs...); err != nil {
			return nil, err
		}
		for base, name := range byBase {
			if err := place(filepath.Join(stage, base), outDir, name, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for name, pkg := range packages {
		tmp := filepath.Join(stage, name)
		if err := goBuild(ctx, moduleDir, goarch, tmp, pkg); err != nil {
			return nil, err
		}
		if err := place(tmp, outDir, name, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func goBuild(ctx context.Context, moduleDir, goarch, output string, pkgs ...string) error {
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", output)
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lambdarun: go build %s (linux/%s): %w\n%s", strings.Join(pkgs, " "), goarch, err, b)
	}
	return nil
}

func place(built, outDir, name string, out map[string]string) error {
	dir := filepath.Join(outDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(dir, "bootstrap")
	if err := os.Rename(built, dst); err != nil {
		return err
	}
	out[name] = dst
	return nil
}
