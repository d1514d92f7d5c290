// Python-style indexing (t.index / t.indexPut) against hand-computed results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';

const grid = () => torch.arange(24).reshape(2, 3, 4); // value = 12*i + 4*j + k

test('numbers select, negative numbers count from the end', () =>
  torch.scope(() => {
    assert.deepEqual(grid().index(1, 2).tolist(), [20, 21, 22, 23]);
    assert.deepEqual(grid().index(-1, -1, -1).tolist(), 23);
    assert.throws(() => grid().index(2), /out of range/);
  }));

test('slices: strings, steps, open and negative bounds, torch.slice', () =>
  torch.scope(() => {
    const t = grid();
    assert.deepEqual(t.index(0, ':', '1:3').tolist(), [
      [1, 2],
      [5, 6],
      [9, 10],
    ]);
    assert.deepEqual(t.index(0, 0, '::2').tolist(), [0, 2]);
    assert.deepEqual(t.index(0, 0, '-3:').tolist(), [1, 2, 3]);
    assert.deepEqual(t.index(0, 0, ':-1').tolist(), [0, 1, 2]);
    assert.deepEqual(t.index(1, torch.slice(1, null, 1), 0).tolist(), [16, 20]);
    assert.throws(() => t.index('::-1'), /step must be positive/);
    assert.throws(() => t.index('a:b'), /not an integer/);
  }));

test('null adds an axis, ellipsis fills the middle', () =>
  torch.scope(() => {
    const t = grid();
    assert.deepEqual(t.index(null).shape, [1, 2, 3, 4]);
    assert.deepEqual(t.index('...', null).shape, [2, 3, 4, 1]);
    assert.deepEqual(t.index('...', 1).tolist(), [
      [1, 5, 9],
      [13, 17, 21],
    ]);
    assert.deepEqual(t.index(0, '...', 3).tolist(), [3, 7, 11]);
    assert.throws(() => t.index(0, 0, 0, 0), /too many indices/);
  }));

test('basic indexing gives views that share storage', () =>
  torch.scope(() => {
    const t = torch.zeros(3, 4);
    t.index(1, '1:3').fill_(7);
    assert.deepEqual(t.tolist(), [
      [0, 0, 0, 0],
      [0, 7, 7, 0],
      [0, 0, 0, 0],
    ]);
  }));

test('tensor indices: integer and boolean', () =>
  torch.scope(() => {
    const t = grid();
    assert.deepEqual(t.index(0, torch.tensor([2, 0])).tolist(), [
      [8, 9, 10, 11],
      [0, 1, 2, 3],
    ]);
    assert.deepEqual(t.index(1, ':', torch.tensor([0, 3])).tolist(), [
      [12, 15],
      [16, 19],
      [20, 23],
    ]);
    const v = torch.tensor([1, -2, 3, -4]);
    assert.deepEqual(v.index(v.gt(0)).tolist(), [1, 3]);
  }));

test('indexPut writes through basic and advanced indices', () =>
  torch.scope(() => {
    const t = torch.zeros(2, 3);
    t.indexPut([0, '1:'], 5);
    t.indexPut([1], torch.tensor([1, 2, 3], { dtype: 'float32' }));
    assert.deepEqual(t.tolist(), [
      [0, 5, 5],
      [1, 2, 3],
    ]);
    const v = torch.tensor([1, -2, 3, -4]);
    v.indexPut([v.lt(0)], 0);
    assert.deepEqual(v.tolist(), [1, 0, 3, 0]);
  }));
