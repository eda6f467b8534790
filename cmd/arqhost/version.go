package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/arqhost/arqhost/abi"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise the module version.
var version = ""

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print arqhost's version, the guest ABI it runs and the Go and wazero versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, wazero := version, "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				if v == "" {
					v = bi.Main.Version
				}
				for _, d := range bi.Deps {
					if d.Path == "github.com/tetratelabs/wazero" {
						wazero = d.Version
					}
				}
			}
			if v == "" || v == "(devel)" {
				v = "dev"
			}
			info := map[string]any{"version": v, "abi": abi.Version, "go": runtime.Version(), "wazero": wazero}
			if a.output == "json" {
				return a.printJSON(info)
			}
			fmt.Fprintf(a.out, "arqhost %s (ABI %d, %s, wazero %s)\n", v, abi.Version, runtime.Version(), wazero)
			return nil
		},
	}
}
