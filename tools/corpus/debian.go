package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// debianPackage is a Debian package fetched with apt-get download and
// unpacked with dpkg -x under the cache folder.
type debianPackage struct {
	Name    string
	Version string // from the .deb file name
	Root    string // where its files were unpacked
}

// fetchPackage downloads name into dir/debs (unless a .deb of it is there
// already) and unpacks it into dir/root/name (unless already unpacked).
func fetchPackage(dir, name string) (*debianPackage, error) {
	debs := filepath.Join(dir, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return nil, err
	}
	deb, err := findDeb(debs, name)
	if err != nil {
		return nil, err
	}
	if deb == "" {
		for _, tool := range []string{"apt-get", "dpkg"} {
			if _, err := exec.LookPath(tool); err != nil {
				return nil, fmt.Errorf("fetching %s needs %s (Debian or Ubuntu): %w", name, tool, err)
			}
		}
		cmd := exec.Command("apt-get", "download", name)
		cmd.Dir = debs
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("apt-get download %s: %v: %s (try apt-get update)", name, err, lastLine(out))
		}
		if deb, err = findDeb(debs, name); err != nil {
			return nil, err
		}
		if deb == "" {
			return nil, fmt.Errorf("apt-get download %s left no .deb in %s", name, debs)
		}
	}
	root := filepath.Join(dir, "root", name)
	done := filepath.Join(root, ".unpacked")
	if _, err := os.Stat(done); err != nil {
		if err := os.RemoveAll(root); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, err
		}
		if out, err := exec.Command("dpkg", "-x", deb, root).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("dpkg -x %s: %v: %s", deb, err, lastLine(out))
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			return nil, err
		}
	}
	return &debianPackage{Name: name, Version: debVersion(filepath.Base(deb)), Root: root}, nil
}

// findDeb returns the .deb of package name in dir, or "" if none.
func findDeb(dir, name string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
	if err != nil || len(matches) == 0 {
		return "", err
	}
	return matches[len(matches)-1], nil
}

// debVersion extracts the version from name_version_arch.deb, undoing
// apt's %3a escape of the epoch colon.
func debVersion(file string) string {
	parts := strings.Split(strings.TrimSuffix(file, ".deb"), "_")
	if len(parts) < 3 {
		return ""
	}
	return strings.ReplaceAll(parts[1], "%3a", ":")
}

// Copyright returns the package's /usr/share/doc/<name>/copyright text.
func (p *debianPackage) Copyright() (string, error) {
	b, err := os.ReadFile(filepath.Join(p.Root, "usr", "share", "doc", p.Name, "copyright"))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("package %s has no copyright file; its licence cannot be checked", p.Name)
	}
	return string(b), err
}

// Path returns the absolute path of a file the package installs.
func (p *debianPackage) Path(installed string) string {
	return filepath.Join(p.Root, filepath.FromSlash(strings.TrimPrefix(installed, "/")))
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}
