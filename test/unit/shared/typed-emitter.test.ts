import { describe, expect, it } from 'vitest';
import { ArgsEmitter, TypedEmitter } from '../../../src/shared/typed-emitter';

describe('the one emitter, both faces', () => {
  it('TypedEmitter: one payload, once fires once, off and the returned function unsubscribe', () => {
    const e = new TypedEmitter<{ n: number; s: string }>();
    const got: Array<string | number> = [];
    const off = e.on('n', (n) => got.push(n));
    e.once('s', (s) => got.push(s));
    e.emit('n', 1);
    e.emit('s', 'a');
    e.emit('s', 'b');
    off();
    e.emit('n', 2);
    const listener = (n: number) => got.push(n * 10);
    e.on('n', listener);
    e.emit('n', 3);
    e.off('n', listener);
    e.emit('n', 4);
    expect(got).toEqual([1, 'a', 30]);
  });

  it('a throwing listener is reported with its event and the others still get the event, in both faces', () => {
    const errors: PropertyKey[] = [];
    const typed = new TypedEmitter<{ x: number }>((_error, event) => errors.push(event));
    const args = new ArgsEmitter<{ y: [number, string] }>((_error, event) => errors.push(event));
    const got: string[] = [];
    typed.on('x', () => { throw new Error('bad'); });
    typed.on('x', (n) => got.push(`x${n}`));
    args.on('y', () => { throw new Error('bad'); });
    args.on('y', (n, s) => got.push(`y${n}${s}`));
    typed.emit('x', 1);
    args.emit('y', 2, 'z');
    expect(got).toEqual(['x1', 'y2z']);
    expect(errors).toEqual(['x', 'y']);
  });

  it('a listener that unsubscribes another during emit does not skip or crash delivery; removeAll clears', () => {
    const e = new ArgsEmitter<{ t: [] }>();
    const got: string[] = [];
    let offB = () => {};
    e.on('t', () => { got.push('a'); offB(); });
    offB = e.on('t', () => got.push('b'));
    e.emit('t');
    e.emit('t');
    expect(got).toEqual(['a', 'b', 'a']);
    e.removeAll();
    e.emit('t');
    expect(got).toHaveLength(3);
  });
});
