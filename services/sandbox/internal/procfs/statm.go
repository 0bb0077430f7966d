// Package procfs reads a process's memory sizes from /proc/<pid>/statm.
//
// statm is a single line of page counts that the kernel formats without
// walking anything else, where /proc/<pid>/status formats some fifty fields
// (credentials, signal masks, capabilities) to give the same two numbers.
// The sandbox reads it for every spawned worker (VmSize, before its limits
// are set) and on every execution (VmRSS, the memory watchdog of
// sandbox.md §8.5), so the cheaper file is worth a package.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Mem is the first two fields of statm in KiB: Size is VmSize (the whole
// virtual address space) and Resident is VmRSS.
type Mem struct {
	SizeKB, ResidentKB int64
}

// BufSize is enough for any statm line (seven decimal counts).
const BufSize = 256

// ParseStatm reads "size resident shared text lib data dt\n" (pages) with the
// given page size in bytes.
func ParseStatm(b []byte, pageSize int) (Mem, error) {
	if pageSize <= 0 || pageSize%1024 != 0 {
		return Mem{}, fmt.Errorf("procfs: page size %d is not a positive multiple of 1024", pageSize)
	}
	f := bytes.Fields(b)
	if len(f) != 7 {
		return Mem{}, fmt.Errorf("procfs: statm has %d fields, want 7", len(f))
	}
	var out [2]int64
	for i := range out {
		v, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil || v < 0 || v > 1<<40 {
			return Mem{}, fmt.Errorf("procfs: statm field %d is %q, want a page count", i+1, f[i])
		}
		out[i] = v * int64(pageSize/1024)
	}
	return Mem{SizeKB: out[0], ResidentKB: out[1]}, nil
}

// ReadStatm reads /proc/<pid>/statm.
func ReadStatm(pid int) (Mem, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return Mem{}, err
	}
	return ParseStatm(b, os.Getpagesize())
}

// ReadStatmAt reads statm from a descriptor opened earlier (a locked-down
// worker can open nothing).
func ReadStatmAt(f *os.File) (Mem, error) {
	var buf [BufSize]byte
	n, err := f.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return Mem{}, fmt.Errorf("procfs: read statm: %w", err)
	}
	if n == len(buf) {
		return Mem{}, errors.New("procfs: statm longer than expected")
	}
	return ParseStatm(buf[:n], os.Getpagesize())
}
