// Package password hashes and checks the admin's password (spec/backend.md §7.2).
//
// Hashes are Argon2id PHC strings, `$argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>` with standard base64 without
// padding, made with parameters fixed in code ([Pinned]; configuration cannot change them). A [Hasher] bounds the
// number of Argon2id computations running at once in the process, because each one holds 64 MiB; [CheckNew] and
// [CheckChange] apply the rules a new password must meet.
package password

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/alexedwards/argon2id"
)

// Limits on parameters read from a stored hash. A stored string is data, so it must not be able to make the process
// allocate gigabytes or spin for minutes: anything beyond these is refused before any computation. They leave room
// above [Pinned] for a future increase.
const (
	maxMemoryKiB   = 256 * 1024
	maxIterations  = 10
	maxParallelism = 16
	minSaltLen     = 8 // RFC 9106 §3.1: salt length 8 to 2^32-1 bytes
	maxSaltLen     = 64
	minKeyLen      = 16
	maxKeyLen      = 64
)

// Params are the Argon2id cost parameters and the lengths of the salt and derived key.
type Params struct {
	MemoryKiB   uint32 // m: memory in KiB
	Iterations  uint32 // t: passes over the memory
	Parallelism uint8  // p: lanes
	SaltLen     uint32 // random salt, in bytes
	KeyLen      uint32 // derived key, in bytes
}

// Pinned returns the production parameters of backend.md §7.2: 64 MiB, 3 iterations, 2 lanes, a 16-byte salt and a
// 32-byte key. They are pinned rather than derived from the machine (argon2id.DefaultParams uses runtime.NumCPU), so
// every replica writes the same hashes.
func Pinned() Params {
	return Params{MemoryKiB: 64 * 1024, Iterations: 3, Parallelism: 2, SaltLen: 16, KeyLen: 32}
}

// Fast returns cheap parameters (1 MiB, 1 iteration, 1 lane) for tests: backend.md §7.2 has every test except those
// about the parameters and timing (BE-13, BE-16) use them, so suites that log in hundreds of times stay fast.
func Fast() Params {
	return Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// String returns the parameters as they appear in a PHC string, plus the lengths: "m=65536,t=3,p=2 salt=16 key=32".
func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d salt=%d key=%d", p.MemoryKiB, p.Iterations, p.Parallelism, p.SaltLen, p.KeyLen)
}

// validate reports parameters this package refuses to compute with, whether they come from code or a stored hash.
func (p Params) validate() error {
	var errs []error
	if p.Iterations < 1 || p.Iterations > maxIterations {
		errs = append(errs, fmt.Errorf("t=%d: iterations must be 1 to %d", p.Iterations, maxIterations))
	}
	if p.Parallelism < 1 || p.Parallelism > maxParallelism {
		errs = append(errs, fmt.Errorf("p=%d: parallelism must be 1 to %d", p.Parallelism, maxParallelism))
	}
	// Argon2 needs 8 KiB per lane (RFC 9106 §3.1); the upper cap keeps a stored string from exhausting memory.
	if minMem := 8 * uint32(max(p.Parallelism, 1)); p.MemoryKiB < minMem || p.MemoryKiB > maxMemoryKiB {
		errs = append(errs, fmt.Errorf("m=%d: memory must be %d to %d KiB", p.MemoryKiB, minMem, maxMemoryKiB))
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		errs = append(errs, fmt.Errorf("salt of %d bytes: must be %d to %d bytes", p.SaltLen, minSaltLen, maxSaltLen))
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		errs = append(errs, fmt.Errorf("key of %d bytes: must be %d to %d bytes", p.KeyLen, minKeyLen, maxKeyLen))
	}
	return errors.Join(errs...)
}

// library converts p to the argon2id package's type.
func (p Params) library() *argon2id.Params {
	return &argon2id.Params{
		Memory: p.MemoryKiB, Iterations: p.Iterations, Parallelism: p.Parallelism,
		SaltLength: p.SaltLen, KeyLength: p.KeyLen,
	}
}

// fromLibrary converts the argon2id package's parameters back.
func fromLibrary(lp *argon2id.Params) Params {
	return Params{
		MemoryKiB: lp.Memory, Iterations: lp.Iterations, Parallelism: lp.Parallelism,
		SaltLen: lp.SaltLength, KeyLen: lp.KeyLength,
	}
}

// phcPrefix returns "$argon2id$v=19$m=…,t=…,p=…$", the part of every hash made with p that precedes the salt.
func (p Params) phcPrefix() string {
	return "$argon2id$v=19$m=" + strconv.FormatUint(uint64(p.MemoryKiB), 10) +
		",t=" + strconv.FormatUint(uint64(p.Iterations), 10) +
		",p=" + strconv.FormatUint(uint64(p.Parallelism), 10) + "$"
}
