import { constants } from 'node:fs';

/** Bytes per block: a multiple of the alignment any disk asks of `O_DIRECT` transfers. */
export const BLOCK_SIZE = 1 << 20;

const WASM_PAGE = 65536;

// The engine's global; Node 20's type definitions do not declare it.
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
};

/** The `O_DIRECT` open flag, or undefined where the platform has none (macOS, Windows). */
export function directFlag(): number | undefined {
  return constants.O_DIRECT || undefined;
}

/**
 * `count` blocks of memory aligned as `O_DIRECT` needs. Node's buffers come from malloc, which aligns to 16 bytes;
 * a WebAssembly memory is mapped whole by the engine, so it starts on a page boundary.
 */
export function alignedBlocks(count: number): Buffer[] {
  const pages = (count * BLOCK_SIZE) / WASM_PAGE;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  return Array.from({ length: count }, (_, i) => Buffer.from(memory.buffer, i * BLOCK_SIZE, BLOCK_SIZE));
}
