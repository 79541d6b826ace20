import { LIMITS } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { Run } from './run.js';

describe('Run.config', () => {
  it('refuses sizes and intervals that cannot work, naming the option', () => {
    expect(() => new Run().config({ batchPoints: LIMITS.pointsPerBatch + 1 })).toThrow(
      'config.batchPoints: must be a whole number from 1 to 1000000, got 1000001',
    );
    expect(() => new Run().config({ queueSize: 0 })).toThrow('config.queueSize: must be a whole number');
    expect(() => new Run().config({ flushIntervalMs: Number.NaN })).toThrow(
      'config.flushIntervalMs: must be a whole number from 1 to 2147483647, got NaN',
    );
    expect(() => new Run().config({ heartbeatIntervalMs: 2.5 })).toThrow('config.heartbeatIntervalMs');
    expect(new Run().config({ batchPoints: LIMITS.pointsPerBatch, queueSize: 5 }).queued.points).toBe(0);
  });
});
