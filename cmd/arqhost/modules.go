package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
)

// moduleInfo is what `modules validate` and `modules inspect` report of one module.
type moduleInfo struct {
	File         string   `json:"file"`
	OK           bool     `json:"ok"`
	Error        string   `json:"error,omitempty"`
	Flavor       string   `json:"flavor,omitempty"`
	SDK          string   `json:"sdk,omitempty"`
	Version      string   `json:"version,omitempty"`
	Tasks        []string `json:"tasks,omitempty"`
	MemoryLimit  string   `json:"memory_limit,omitempty"`
	Timeout      string   `json:"timeout,omitempty"`
	MaxInstances int      `json:"max_instances,omitempty"`
	MinInstances int      `json:"min_instances,omitempty"`
	MaxOutput    string   `json:"max_output,omitempty"`
}

func (a *app) engine() (*wasm.Engine, error) {
	return wasm.NewEngine(wasm.Config{CacheDir: a.cfg.CacheDir, Concurrency: a.cfg.Concurrency,
		Defaults: wasm.Limits{Timeout: a.cfg.JobTimeout, MemoryPages: uint32((a.cfg.MemoryLimit + wasm.PageSize - 1) / wasm.PageSize)}})
}

// inspectModule loads one module (with its sidecar) the way a worker would, and describes it.
func inspectModule(ctx context.Context, e *wasm.Engine, path string) moduleInfo {
	info := moduleInfo{File: path}
	limits, err := registry.ReadSidecar(path)
	var m *wasm.Module
	if err == nil {
		m, err = e.LoadFile(ctx, path, limits)
	}
	if err != nil {
		info.Error = strings.TrimPrefix(err.Error(), path+": ")
		return info
	}
	defer m.Close(ctx)
	l := m.Limits()
	info.OK, info.Flavor, info.SDK, info.Version, info.Tasks = true, m.Flavor(), m.SDK(), m.Version(), m.Tasks()
	info.MemoryLimit = strconv.FormatUint(l.MemoryBytes()>>20, 10) + "MiB"
	info.Timeout = l.Timeout.String()
	info.MaxInstances, info.MinInstances = l.MaxInstances, l.MinInstances
	info.MaxOutput = strconv.FormatUint(uint64(l.MaxOutputBytes)>>10, 10) + "KiB"
	return info
}

func (a *app) modulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "modules", Short: "Check and describe task modules; list and reload what running workers serve"}
	cmd.AddCommand(a.modulesListCmd(), a.modulesReloadCmd())
	cmd.AddCommand(&cobra.Command{
		Use:   "validate [DIR]",
		Short: "Compile every module of DIR (default --modules), list its tasks and limits, and report every problem",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			dir := a.cfg.ModulesDir
			if len(pos) == 1 {
				dir = pos[0]
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return withCode(exitUsage, fmt.Errorf(a.t("%s is not a directory of modules"), dir))
			}
			paths, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
			sort.Strings(paths)
			if len(paths) == 0 {
				return withCode(exitUsage, fmt.Errorf(a.t("no *.wasm modules in %s"), dir))
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			defer e.Close(cmd.Context())
			var infos []moduleInfo
			owner := map[string]string{}
			bad := 0
			for _, p := range paths {
				info := inspectModule(cmd.Context(), e, p)
				for _, t := range info.Tasks {
					if other, ok := owner[t]; ok {
						info.OK = false
						info.Error = fmt.Sprintf(a.t("task %q is also served by %s"), t, other)
					}
					owner[t] = p
				}
				if !info.OK {
					bad++
				}
				infos = append(infos, info)
			}
			if a.output == "json" {
				if err := a.printJSON(infos); err != nil {
					return err
				}
			} else {
				var rows [][]string
				for _, i := range infos {
					if !i.OK {
						rows = append(rows, []string{filepath.Base(i.File), a.colour(a.t("INVALID"), "31"), i.Error})
						continue
					}
					rows = append(rows, []string{filepath.Base(i.File), a.colour(a.t("ok"), "32"), fmt.Sprintf("%s [%s] %s, %s, %s %d", i.Version[:12],
						strings.Join(i.Tasks, ", "), i.MemoryLimit, i.Timeout, a.t("instances"), i.MaxInstances)})
				}
				a.table([]string{"MODULE", "STATUS", "DETAILS"}, rows)
			}
			if bad > 0 {
				a.silentErr = a.output == "json"
				return withCode(exitError, fmt.Errorf(a.t("%d of %d modules are invalid"), bad, len(infos)))
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "inspect FILE",
		Short: "Describe one module: ABI flavor, tasks, version (hash) and effective limits",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			defer e.Close(cmd.Context())
			info := inspectModule(cmd.Context(), e, pos[0])
			if a.output == "json" {
				if err := a.printJSON(info); err != nil {
					return err
				}
			} else if info.OK {
				for _, kv := range [][2]string{{"file", info.File}, {"flavor", info.Flavor}, {"sdk", orDash(info.SDK)}, {"version", info.Version},
					{"tasks", strings.Join(info.Tasks, ", ")}, {"memory limit", info.MemoryLimit}, {"timeout", info.Timeout},
					{"instances", fmt.Sprintf("%d-%d", info.MinInstances, info.MaxInstances)}, {"max output", info.MaxOutput}} {
					fmt.Fprintf(a.out, "%-14s %s\n", a.t(kv[0])+":", kv[1])
				}
			}
			if !info.OK {
				a.silentErr = a.output == "json"
				return withCode(exitError, errors.New(info.Error))
			}
			return nil
		},
	})
	return cmd
}
