//go:build !(js && wasm)

// Package wasmhost runs the WebAssembly kernel module (web/kernels/
// kernels.wasm) natively in wazero, a pure Go runtime with SIMD128 (it has
// no relaxed SIMD), on a memory of its own: each call copies its operands
// in, runs the kernel and copies the outputs back. Tests use it to compare
// the SIMD kernels with the Go references without a browser or Node.
package wasmhost

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// memoryModule is (module (memory (export "memory") 1)): the kernels'
// env.memory, standing in for the Go program's memory.
var memoryModule = []byte{0, 'a', 's', 'm', 1, 0, 0, 0,
	5, 3, 1, 0, 1, // memory section: one memory, min 1 page
	7, 10, 1, 6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0} // export "memory"

// Module is an instance of the kernel module. Calls are serialised: Lock
// before copying operands in, unlock after copying results out.
type Module struct {
	mu  sync.Mutex
	ctx context.Context
	mem api.Memory
	mod api.Module
	top uint32 // bump allocator over mem, reset by Lock
}

// Load instantiates the kernel module at path.
func Load(path string) (*Module, error) {
	ctx := context.Background()
	code, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := wazero.NewRuntime(ctx)
	env, err := r.InstantiateWithConfig(ctx, memoryModule, wazero.NewModuleConfig().WithName("env"))
	if err != nil {
		return nil, err
	}
	mod, err := r.InstantiateWithConfig(ctx, code, wazero.NewModuleConfig().WithName("kernels"))
	if err != nil {
		return nil, err
	}
	return &Module{ctx: ctx, mem: env.Memory(), mod: mod}, nil
}

// Lock takes the module for one call and empties its memory; it returns
// the unlock.
func (m *Module) Lock() func() {
	m.mu.Lock()
	m.top = 0
	return m.mu.Unlock
}

// Put copies b into the memory, 16-byte aligned, and returns its address.
func (m *Module) Put(b []byte) uint32 {
	addr := (m.top + 15) &^ 15
	m.top = addr + uint32(len(b))
	if m.top > m.mem.Size() {
		if _, ok := m.mem.Grow((m.top-m.mem.Size())/65536 + 1); !ok {
			panic("wasmhost: memory cannot grow")
		}
	}
	if !m.mem.Write(addr, b) {
		panic("wasmhost: memory write out of range")
	}
	return addr
}

// Get copies len(dst) bytes at addr into dst.
func (m *Module) Get(addr uint32, dst []byte) {
	src, ok := m.mem.Read(addr, uint32(len(dst)))
	if !ok {
		panic("wasmhost: memory read out of range")
	}
	copy(dst, src)
}

// Call runs the exported function name and returns its result (0 if none).
func (m *Module) Call(name string, params ...uint64) uint64 {
	res, err := m.mod.ExportedFunction(name).Call(m.ctx, params...)
	if err != nil {
		panic(fmt.Sprintf("wasmhost: %s: %v", name, err))
	}
	if len(res) > 0 {
		return res[0]
	}
	return 0
}
