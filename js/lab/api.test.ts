import { describe, expect, it } from 'vitest';
import { decodeSnapshotFrame, decodeValues } from './api';

describe('decodeValues', () => {
  it('turns the server strings for NaN and ±inf back into distinct numbers', () => {
    const values = decodeValues([1.5, 'NaN', 'Infinity', '-Infinity', -2]);
    expect(values[0]).toBe(1.5);
    expect(Number.isNaN(values[1])).toBe(true);
    expect(values[2]).toBe(Infinity);
    expect(values[3]).toBe(-Infinity);
    expect(values[4]).toBe(-2);
  });
});

/** The binary answer of `snapshots/attention`: uint32 LE header length, UTF-8 JSON, uint8 block. */
function frame(meta: object, block: number[], length?: number): ArrayBuffer {
  const header = new TextEncoder().encode(JSON.stringify(meta));
  const bytes = new Uint8Array(4 + header.length + block.length);
  new DataView(bytes.buffer).setUint32(0, length ?? header.length, true);
  bytes.set(header, 4);
  bytes.set(block, 4 + header.length);
  return bytes.buffer;
}

describe('decodeSnapshotFrame', () => {
  const meta = { run: 'r', step: 20, text: 'ça va', tokens: ['ça', 'va'], shape: [1, 2, 2, 2], layer_numbers: [0], head_numbers: null, scale: [[1, 1]] };

  it('reads the metadata (UTF-8) and views the (layers, heads, query, key) bytes in place', () => {
    const buffer = frame(meta, [0, 255, 1, 2, 3, 4, 5, 6]);
    const snapshot = decodeSnapshotFrame(buffer);
    expect({ ...snapshot, data: undefined }).toEqual({ ...meta, data: undefined });
    expect(Array.from(snapshot.data)).toEqual([0, 255, 1, 2, 3, 4, 5, 6]);
    expect(snapshot.data.buffer).toBe(buffer); // not copied
  });

  it('refuses a cut or inconsistent answer with a clear error', () => {
    expect(() => decodeSnapshotFrame(frame(meta, [1, 2, 3]))).toThrow('3 attention bytes for shape 1 × 2 × 2 × 2 (8)');
    expect(() => decodeSnapshotFrame(frame(meta, [], 9999))).toThrow('header of 9999 bytes');
    expect(() => decodeSnapshotFrame(new ArrayBuffer(2))).toThrow('malformed snapshot answer: 2 bytes');
  });
});
