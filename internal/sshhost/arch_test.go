package sshhost

import (
	"debug/elf"
	"strings"
	"testing"
)

// The agent must be a static Linux build: another OS's ABI and a
// dynamically linked binary are refused with a message that says what to
// build instead.
func TestRunnableOnLinux(t *testing.T) {
	static := &elf.File{FileHeader: elf.FileHeader{OSABI: elf.ELFOSABI_NONE, Type: elf.ET_EXEC, Machine: elf.EM_X86_64}}
	interp := "/lib64/ld-linux-x86-64.so.2\x00"
	for _, tt := range []struct {
		name string
		f    *elf.File
		want string
	}{
		{"static linux", static, ""},
		{"linux abi", &elf.File{FileHeader: elf.FileHeader{OSABI: elf.ELFOSABI_LINUX, Type: elf.ET_EXEC}}, ""},
		{"freebsd", &elf.File{FileHeader: elf.FileHeader{OSABI: elf.ELFOSABI_FREEBSD, Type: elf.ET_EXEC}},
			"agent is built for another operating system (ELF OS ABI ELFOSABI_FREEBSD), not Linux: build the agent with GOOS=linux"},
		{"object file", &elf.File{FileHeader: elf.FileHeader{Type: elf.ET_REL}}, "agent is not an executable (ELF type ET_REL)"},
		{"cgo build", &elf.File{FileHeader: elf.FileHeader{Type: elf.ET_DYN}, Progs: []*elf.Prog{{
			ProgHeader: elf.ProgHeader{Type: elf.PT_INTERP, Filesz: uint64(len(interp))}, ReaderAt: strings.NewReader(interp)}}},
			"agent is dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2): the host may not have that loader or its libraries; " +
				"build the agent statically with CGO_ENABLED=0 (as `make build` does)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := runnableOnLinux(tt.f, "agent")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}
