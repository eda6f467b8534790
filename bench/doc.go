// Package bench holds arqhost's benchmarks. They are Go benchmarks run against the real modules
// built by `make modules`; README.md beside this file records their results and the commands that
// reproduce them.
package bench
