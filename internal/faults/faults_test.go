package faults

import "testing"

// Outside a Terraform plugin, or for another point, At does nothing: the
// process (this test) lives on.
func TestAtIsANoOpUnlessAskedAsAPlugin(t *testing.T) {
	t.Setenv(Env, AfterWrite)
	t.Setenv("TF_PLUGIN_MAGIC_COOKIE", "")
	At(AfterWrite) // no cookie: not a plugin
	t.Setenv("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")
	At(DuringRestart) // another point
	At(DuringRollback)
}
