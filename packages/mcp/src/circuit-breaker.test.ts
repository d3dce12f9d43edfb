import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.ts';

describe('CircuitBreaker', () => {
  const options = { windowMs: 1_000, minimumCalls: 4, failureRate: 0.5, coolDownMs: 100 };

  it('opens when the failure rate in the window reaches the threshold, then half-opens after the cool-down', () => {
    let now = 0;
    const breaker = new CircuitBreaker(options, () => now);
    breaker.record(false);
    breaker.record(true);
    breaker.record(false);
    expect(breaker.state).toBe('closed');
    breaker.record(true);
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    now = 100;
    expect(breaker.state).toBe('half_open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.record(false);
    expect(breaker.state).toBe('closed');
  });

  it('stays open for another cool-down when the trial call fails', () => {
    let now = 0;
    const breaker = new CircuitBreaker(options, () => now);
    for (let index = 0; index < 4; index++) breaker.record(true);
    now = 150;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.record(true);
    expect(breaker.state).toBe('open');
    now = 260;
    expect(breaker.state).toBe('half_open');
  });

  it('lets the next call be the trial when the trial was abandoned, counting nothing', () => {
    let now = 0;
    const breaker = new CircuitBreaker(options, () => now);
    for (let index = 0; index < 4; index++) breaker.record(true);
    now = 150;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.abandon();
    expect(breaker.state).toBe('half_open');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('forgets failures that left the window', () => {
    let now = 0;
    const breaker = new CircuitBreaker(options, () => now);
    breaker.record(true);
    breaker.record(true);
    now = 2_000;
    breaker.record(true);
    breaker.record(false);
    breaker.record(false);
    expect(breaker.state).toBe('closed');
  });
});
