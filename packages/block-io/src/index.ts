export { BLOCK_SIZE } from './aligned.js';
export { type BlockFileReadOptions, readBlocks } from './block-file-reader.js';
export { BlockFileWriter, type BlockFileWriterOptions, createBlockWriteStream } from './block-file-writer.js';
