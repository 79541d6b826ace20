import type { EventView } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { clockOf, markerNear, placeMarkers, timestampOfX } from './event-markers.js';

const event = (timestamp: number, message = `at ${timestamp}`): EventView => ({
  timestamp,
  time: '',
  level: 'info',
  message,
});

describe('event markers', () => {
  // Steps 0, 10, 20, 30 logged at 1000, 2000, 2000 (a repeat), 4000 µs; one point goes back in time.
  const clock = clockOf(
    Float64Array.from([0, 10, 20, 25, 30]),
    Float64Array.from([1000, 2000, 2000, 1500, 4000]),
  );

  it('keeps the points whose timestamps rise with the step', () => {
    expect([...clock.xs]).toEqual([0, 10, 20, 30]);
    expect([...clock.timestamps]).toEqual([1000, 2000, 2000, 4000]);
  });

  it('places events at their step by interpolation, and counts those outside the span', () => {
    const placed = placeMarkers(
      [event(500), event(1500), event(3000), event(4000), event(4001)],
      'step',
      clock,
      null,
    );
    expect(placed.markers.map((m) => m.x)).toEqual([5, 25, 30]);
    expect(placed.unmapped).toBe(2);
    expect(placed.more).toBe(0);
  });

  it('keeps timestamps as they are on a date axis, and draws only those in view', () => {
    const placed = placeMarkers([event(500), event(1500), event(3000)], 'timestamp', null, [1000, 2000]);
    expect(placed.markers.map((m) => m.x)).toEqual([1500]);
    expect(placed.unmapped).toBe(0);
  });

  it('draws at most the cap and counts the rest', () => {
    const events = Array.from({ length: 12 }, (_, i) => event(1000 + i * 100));
    const placed = placeMarkers(events, 'step', clock, [0, 30], 5);
    expect(placed.markers.length).toBe(5);
    expect(placed.more).toBe(7);
  });

  it('maps an x range back to timestamps, clamped to the span', () => {
    expect(timestampOfX(clock, 5)).toBe(1500);
    expect(timestampOfX(clock, -10)).toBe(1000);
    expect(timestampOfX(clock, 99)).toBe(4000);
    expect(timestampOfX(clockOf(new Float64Array(0), new Float64Array(0)), 1)).toBe(null);
  });

  it('finds the marker nearest the pointer within the slack', () => {
    const markers = [event(1), event(2)].map((e, i) => ({ x: i * 10, event: e }));
    expect(markerNear(markers, 8, 3)?.x).toBe(10);
    expect(markerNear(markers, 5, 3)).toBe(null);
  });
});
