package sshhost

import (
	"debug/elf"
	"fmt"
	"slices"
	"strings"
)

// binaryArch is what a local ELF binary runs on.
type binaryArch struct {
	unames []string // `uname -m` values that run it
	goarch string   // GOARCH of the build
}

// elfArch reads the machine of an ELF binary.
func elfArch(path string) (binaryArch, error) {
	f, err := elf.Open(path)
	if err != nil {
		return binaryArch{}, fmt.Errorf("%s is not an ELF binary for Linux: %w", path, err)
	}
	defer f.Close()
	if err := runnableOnLinux(f, path); err != nil {
		return binaryArch{}, err
	}
	le := f.Data == elf.ELFDATA2LSB
	is64 := f.Class == elf.ELFCLASS64
	switch f.Machine {
	case elf.EM_X86_64:
		return binaryArch{[]string{"x86_64", "amd64"}, "amd64"}, nil
	case elf.EM_AARCH64:
		return binaryArch{[]string{"aarch64", "arm64"}, "arm64"}, nil
	case elf.EM_386:
		return binaryArch{[]string{"i386", "i486", "i586", "i686", "x86_64"}, "386"}, nil
	case elf.EM_ARM:
		return binaryArch{[]string{"armv6l", "armv7l", "armv8l", "arm"}, "arm"}, nil
	case elf.EM_RISCV:
		if is64 {
			return binaryArch{[]string{"riscv64"}, "riscv64"}, nil
		}
	case elf.EM_PPC64:
		if le {
			return binaryArch{[]string{"ppc64le"}, "ppc64le"}, nil
		}
		return binaryArch{[]string{"ppc64"}, "ppc64"}, nil
	case elf.EM_S390:
		return binaryArch{[]string{"s390x"}, "s390x"}, nil
	case elf.EM_LOONGARCH:
		return binaryArch{[]string{"loongarch64"}, "loong64"}, nil
	case elf.EM_MIPS:
		switch {
		case is64 && le:
			return binaryArch{[]string{"mips64"}, "mips64le"}, nil
		case is64:
			return binaryArch{[]string{"mips64"}, "mips64"}, nil
		case le:
			return binaryArch{[]string{"mips"}, "mipsle"}, nil
		default:
			return binaryArch{[]string{"mips"}, "mips"}, nil
		}
	}
	return binaryArch{goarch: f.Machine.String()}, nil
}

// runnableOnLinux refuses what exec would refuse, or run badly, on any
// Linux host: another OS's ABI (a FreeBSD build), and a dynamically linked
// binary (a cgo build), whose interpreter and libraries the host may lack.
func runnableOnLinux(f *elf.File, path string) error {
	switch f.OSABI {
	case elf.ELFOSABI_NONE, elf.ELFOSABI_LINUX:
	default:
		return fmt.Errorf("%s is built for another operating system (ELF OS ABI %s), not Linux: build the agent with GOOS=linux", path, f.OSABI)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s is not an executable (ELF type %s)", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		interp := make([]byte, min(p.Filesz, 4096))
		n, _ := p.ReadAt(interp, 0)
		name := strings.TrimRight(string(interp[:n]), "\x00")
		return fmt.Errorf("%s is dynamically linked (interpreter %s): the host may not have that loader or its libraries; "+
			"build the agent statically with CGO_ENABLED=0 (as `make build` does)", path, name)
	}
	return nil
}

func (b binaryArch) runsOn(uname string) bool { return slices.Contains(b.unames, uname) }

// goarchOf is the GOARCH to build for a `uname -m`.
func goarchOf(uname string) string {
	switch uname {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "i386", "i486", "i586", "i686":
		return "386"
	case "armv6l":
		return "arm GOARM=6"
	case "armv7l", "armv8l", "arm":
		return "arm GOARM=7"
	case "loongarch64":
		return "loong64"
	case "riscv64", "ppc64le", "ppc64", "s390x":
		return uname
	}
	return "(the Go name of " + uname + ")"
}
